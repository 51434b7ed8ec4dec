//! Choosing the language of a page, and text made safe for where it goes.

use crate::i18n::Locale;
use leptos_i18n::Locale as _;

/// The locale for a language tag stored in the database (`"de"`, `"en"`, `"fr"`),
/// or for the tags of an `Accept-Language` header, best first.
pub fn locale_from_tag<T: AsRef<[u8]>>(tags: &[T]) -> Locale {
    Locale::find_locale(tags)
}

/// The language tag of a locale (`"en"`, `"de"`, `"fr"`), as the database stores it.
pub fn language_tag(locale: Locale) -> &'static str {
    locale.as_str()
}

/// Text for inside a `<textarea>`, escaped here because Leptos writes a textarea's children as
/// they are: a query with `</textarea>` in a shared link must not end the element and inject
/// markup. The browser decodes the entities again, so the field shows the query as typed.
pub fn textarea_text(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_tags_choose_their_locale_and_unknown_fall_back_to_english() {
        assert_eq!(locale_from_tag(&["de-CH", "en"]), Locale::de);
        assert_eq!(locale_from_tag(&["fr"]), Locale::fr);
        assert_eq!(locale_from_tag(&["fr-FR", "fr"]), Locale::fr);
        assert_eq!(locale_from_tag(&["fr-CA", "de"]), Locale::fr);
        assert_eq!(locale_from_tag(&["it-IT"]), Locale::en);
        assert_eq!(locale_from_tag::<&str>(&[]), Locale::en);
    }

    #[test]
    fn textarea_text_cannot_end_the_element() {
        assert_eq!(
            textarea_text("a < b && </textarea><script>"),
            "a &lt; b &amp;&amp; &lt;/textarea&gt;&lt;script&gt;"
        );
    }
}
