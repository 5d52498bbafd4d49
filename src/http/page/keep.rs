//! The page's own query (the day it shows, the moment known, its language), carried by
//! every form on the page as hidden fields and put back on every redirect, so that
//! signing in, recording or correcting never moves the page to another day.
use projections::period::Lang;
use serde::{Deserialize, Deserializer, Serialize};

/// What the page keeps of its query. Text as typed: the page says when a date cannot
/// be read rather than refusing the request.
#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keep {
    /// The day the figures are counted to (`?on=`).
    #[serde(
        default,
        deserialize_with = "blank_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub on: Option<String>,
    /// The moment the figures are known at (`?known_at=`).
    #[serde(
        default,
        deserialize_with = "blank_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub known_at: Option<String>,
    /// `zh` or `en`.
    #[serde(
        default,
        deserialize_with = "blank_none",
        skip_serializing_if = "Option::is_none"
    )]
    pub lang: Option<String>,
}

/// An empty field (a date left blank) is no value.
fn blank_none<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty()))
}

impl Keep {
    /// The page's language; anything but `en` is Chinese, the page's own.
    pub fn lang(&self) -> Lang {
        self.lang
            .as_deref()
            .and_then(|l| l.parse().ok())
            .unwrap_or_default()
    }

    /// The kept query, encoded (`on=2023-06-30&lang=zh`), the language always named.
    pub fn query(&self) -> String {
        let lang = match self.lang() {
            Lang::Zh => "zh",
            Lang::En => "en",
        };
        let pairs: Vec<(&str, &str)> = [("on", &self.on), ("known_at", &self.known_at)]
            .into_iter()
            .filter_map(|(k, v)| Some((k, v.as_deref()?)))
            .chain([("lang", lang)])
            .collect();
        serde_urlencoded::to_string(pairs).unwrap_or_default()
    }

    /// The page's address with this query, `first` before it (such as the seq just
    /// recorded) and `fragment` after. Always a path on this server.
    pub fn to(&self, first: &[(&str, &str)], fragment: &str) -> String {
        let head = serde_urlencoded::to_string(first).unwrap_or_default();
        let sep = if head.is_empty() { "" } else { "&" };
        let fragment = if fragment.is_empty() {
            String::new()
        } else {
            format!("#{fragment}")
        };
        format!("/?{head}{sep}{}{fragment}", self.query())
    }
}

#[cfg(test)]
mod tests {
    use super::Keep;

    #[test]
    fn the_kept_query_is_encoded_and_names_the_language() {
        let keep = Keep {
            on: Some("2023-06-30".into()),
            known_at: Some("a&b=c".into()),
            lang: None,
        };
        assert_eq!(keep.query(), "on=2023-06-30&known_at=a%26b%3Dc&lang=zh");
        assert_eq!(
            keep.to(&[("recorded", "7")], "latest"),
            "/?recorded=7&on=2023-06-30&known_at=a%26b%3Dc&lang=zh#latest"
        );
        assert_eq!(Keep::default().to(&[], ""), "/?lang=zh");
    }
}
