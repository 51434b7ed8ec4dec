//! Scrape target configuration, relabelling, prometheus.yml import and the address guard.
