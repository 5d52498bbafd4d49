//! Text as people type it, put in one canonical form where it is validated, so that two
//! values that look the same are the same: one teacher is one person in every count.
//!
//! Pasted names bring characters nobody sees: zero-width spaces from chat programs,
//! bidirectional controls that reorder what is shown, no-break spaces from documents,
//! decomposed accents from other systems. Each would make "张三" a second person.
//!
//! ```
//! use events::text::{normalise, normalise_name};
//! assert_eq!(normalise(" 张三\u{200B} "), "张三");
//! assert_eq!(normalise("课题\u{00A0}研究"), "课题 研究");
//! assert_eq!(normalise_name("张\u{3000}\u{3000}三"), "张 三");
//! assert_eq!(normalise_name("Ｚｏｅ\u{0308}"), "Zoë");
//! ```
use std::borrow::Cow;

use unicode_normalization::{is_nfc_quick, is_nfkc_quick, IsNormalized, UnicodeNormalization};

/// Characters that show nothing yet make two equal-looking texts differ: zero-width
/// spaces and joiners, the byte-order mark, the soft hyphen and the bidirectional
/// controls (which can also make a text display in another order than it is stored).
/// The zero-width joiner matters to emoji and some scripts, not to the names and titles
/// a county school records.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{061C}'
            | '\u{200B}'..='\u{200F}'
            | '\u{202A}'..='\u{202E}'
            | '\u{2060}'
            | '\u{2066}'..='\u{2069}'
            | '\u{FEFF}'
    )
}

/// Spaces that only differ from a plain space in where a line may break.
fn is_no_break_space(c: char) -> bool {
    matches!(c, '\u{00A0}' | '\u{2007}' | '\u{202F}')
}

/// Free text in canonical form: invisible characters removed, Unicode NFC, no-break
/// spaces as plain spaces, trimmed (the ideographic space U+3000 is trimmed at the ends
/// but kept inside, where Chinese text uses it). Borrowed when already canonical.
pub fn normalise(text: &str) -> Cow<'_, str> {
    let plain = text.trim() == text
        && !text
            .chars()
            .any(|c| is_invisible(c) || is_no_break_space(c))
        && is_nfc_quick(text.chars()) == IsNormalized::Yes;
    if plain {
        return Cow::Borrowed(text);
    }
    // Invisible characters go first: one between a letter and its accent would keep
    // the two from composing.
    let out: String = text
        .chars()
        .filter(|c| !is_invisible(*c))
        .nfc()
        .map(|c| if is_no_break_space(c) { ' ' } else { c })
        .collect();
    Cow::Owned(out.trim().to_owned())
}

/// A person's name (or staff id) in canonical form: as [`normalise`], but with Unicode
/// NFKC, so that full-width letters and digits are the plain ones, and with every run of
/// spaces inside (ideographic ones included) made one plain space. A name is compared
/// for identity, where free text is kept as written.
pub fn normalise_name(text: &str) -> Cow<'_, str> {
    let plain = text.trim() == text
        && !text.contains("  ")
        && !text
            .chars()
            .any(|c| is_invisible(c) || (c.is_whitespace() && c != ' '))
        && is_nfkc_quick(text.chars()) == IsNormalized::Yes;
    if plain {
        return Cow::Borrowed(text);
    }
    let folded: String = text.chars().filter(|c| !is_invisible(*c)).nfkc().collect();
    Cow::Owned(folded.split_whitespace().collect::<Vec<_>>().join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_not_copied() {
        assert!(matches!(normalise("全县科级干部进修班"), Cow::Borrowed(_)));
        assert!(matches!(normalise_name("张三"), Cow::Borrowed(_)));
        assert!(matches!(normalise_name("Li Si"), Cow::Borrowed(_)));
    }

    #[test]
    fn invisible_characters_and_bidi_controls_are_removed() {
        for c in [
            '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{202A}', '\u{202E}',
            '\u{2066}', '\u{2069}', '\u{200E}', '\u{200F}', '\u{061C}',
        ] {
            assert_eq!(normalise(&format!("张{c}三")), "张三", "U+{:04X}", c as u32);
            assert_eq!(normalise_name(&format!("{c}张三{c}")), "张三");
        }
    }

    #[test]
    fn a_letter_and_its_accent_compose_even_with_an_invisible_character_between() {
        assert_eq!(normalise("Zoe\u{200B}\u{0308}"), "Zoë");
        assert_eq!(normalise("Zoe\u{0308}"), normalise("Zoë"));
    }

    #[test]
    fn a_compatibility_ideograph_is_the_unified_one() {
        // U+F9E1 is a compatibility form of 李 (U+674E); NFC already maps it.
        assert_eq!(normalise("\u{F9E1}四"), "李四");
        assert_eq!(normalise_name("\u{F9E1}四"), "李四");
    }

    #[test]
    fn free_text_keeps_its_full_width_punctuation_and_inner_ideographic_space() {
        assert_eq!(normalise("讲授式，研讨式"), "讲授式，研讨式");
        assert_eq!(
            normalise("\u{3000}一、总体\u{3000}要求\u{3000}"),
            "一、总体\u{3000}要求"
        );
        assert_eq!(normalise("a  b"), "a  b", "free text keeps its spacing");
    }

    #[test]
    fn a_name_has_one_plain_space_between_its_parts() {
        assert_eq!(
            normalise_name(" 阿不都\u{00A0}\u{00A0}热合曼 "),
            "阿不都 热合曼"
        );
        assert_eq!(normalise_name("Ｔ００１"), "T001");
        assert_eq!(
            normalise_name("\u{200B}"),
            "",
            "left empty, for the check to refuse"
        );
    }
}
