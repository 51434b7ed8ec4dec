//! Choosing the language of a page.

use crate::i18n::Locale;
use leptos_i18n::Locale as _;

/// The locale for a language tag stored in the database (`"de"`, `"en"`),
/// or for the tags of an `Accept-Language` header, best first.
pub fn locale_from_tag<T: AsRef<[u8]>>(tags: &[T]) -> Locale {
    Locale::find_locale(tags)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn german_tags_choose_german_and_unknown_fall_back_to_english() {
        assert_eq!(locale_from_tag(&["de-CH", "en"]), Locale::de);
        assert_eq!(locale_from_tag(&["fr-FR"]), Locale::en);
        assert_eq!(locale_from_tag::<&str>(&[]), Locale::en);
    }
}
