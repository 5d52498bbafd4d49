//! Columns that line up in a terminal: text padded to the width a terminal shows it at
//! (a Chinese character takes two columns), not to its count of characters.
use unicode_width::UnicodeWidthStr;

/// How many columns `text` takes in a terminal.
pub fn width(text: &str) -> usize {
    UnicodeWidthStr::width(text)
}

/// `text` followed by spaces up to `columns` columns.
pub fn pad(text: &str, columns: usize) -> String {
    format!("{text}{}", " ".repeat(columns.saturating_sub(width(text))))
}

/// The widest of `texts`, in columns.
pub fn widest<'a>(texts: impl IntoIterator<Item = &'a str>) -> usize {
    texts.into_iter().map(width).max().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_chinese_label_pads_to_the_columns_it_shows_in() {
        assert_eq!(width("主体班"), 6);
        assert_eq!(pad("主体班", 8), "主体班  ");
        assert_eq!(pad("Main classes", 8), "Main classes");
        assert_eq!(width(&pad("校委会", 10)), width(&pad("Main", 10)));
    }
}
