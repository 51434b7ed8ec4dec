-- One number that changes whenever a threshold or a recording rule is added, changed or removed
-- (also through their project, environment or client): the evaluator reads the rules again only
-- then, not at every round.
CREATE TABLE rules_version (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    version  INTEGER NOT NULL
);
INSERT INTO rules_version (id, version) VALUES (1, 0);
CREATE TRIGGER thresholds_inserted AFTER INSERT ON thresholds BEGIN UPDATE rules_version SET version = version + 1; END;
CREATE TRIGGER thresholds_updated AFTER UPDATE ON thresholds BEGIN UPDATE rules_version SET version = version + 1; END;
CREATE TRIGGER thresholds_deleted AFTER DELETE ON thresholds BEGIN UPDATE rules_version SET version = version + 1; END;
CREATE TRIGGER recording_rules_inserted AFTER INSERT ON recording_rules BEGIN UPDATE rules_version SET version = version + 1; END;
CREATE TRIGGER recording_rules_updated AFTER UPDATE ON recording_rules BEGIN UPDATE rules_version SET version = version + 1; END;
CREATE TRIGGER recording_rules_deleted AFTER DELETE ON recording_rules BEGIN UPDATE rules_version SET version = version + 1; END;
CREATE TRIGGER projects_changed_for_rules AFTER UPDATE ON projects BEGIN UPDATE rules_version SET version = version + 1; END;
CREATE TRIGGER projects_deleted_for_rules AFTER DELETE ON projects BEGIN UPDATE rules_version SET version = version + 1; END;
CREATE TRIGGER environments_changed_for_rules AFTER UPDATE ON environments BEGIN UPDATE rules_version SET version = version + 1; END;
CREATE TRIGGER environments_deleted_for_rules AFTER DELETE ON environments BEGIN UPDATE rules_version SET version = version + 1; END;
