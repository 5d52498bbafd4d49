//! The little XML a workbook's parts are written in, read straight off the bytes: tags
//! with their attributes, and text with its character references. Anything else (a
//! DOCTYPE, CDATA, a reference it does not know) is `Unsupported`, and the workbook is
//! then read by calamine instead.
use memchr::{memchr, memmem};

/// Something this reader leaves to calamine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Unsupported;

/// One tag: `<name …>`, `<name …/>` or `</name>`.
#[derive(Debug)]
pub struct Tag<'a> {
    /// The name without its namespace prefix (`row` for `<x:row>`).
    pub name: &'a [u8],
    /// The name as written, prefix and all, which calamine matches an element's end
    /// tag by.
    pub qualified: &'a [u8],
    /// An end tag, `</name>`.
    pub close: bool,
    /// A tag that ends itself, `<name/>`.
    pub empty: bool,
    /// The attributes as written, checked well formed (see [`Tag::attrs`]).
    attrs: &'a [u8],
    /// Where the text after the tag begins.
    pub end: usize,
}

impl<'a> Tag<'a> {
    /// The tag's attributes, names as written (`xml:space`) and values raw.
    pub fn attrs(&self) -> Attrs<'a> {
        Attrs { rest: self.attrs }
    }

    /// The raw value of the attribute named exactly `name`.
    pub fn attr(&self, name: &[u8]) -> Option<&'a [u8]> {
        self.attrs().find(|(k, _)| *k == name).map(|(_, v)| v)
    }
}

/// The next tag at or after `from`, or `None` at the end of `xml`. Declarations
/// (`<?…?>`) and comments are stepped over.
pub fn next_tag(xml: &[u8], mut from: usize) -> Result<Option<Tag<'_>>, Unsupported> {
    loop {
        // Most tags follow one another with nothing between them.
        let at = if xml.get(from) == Some(&b'<') {
            from
        } else {
            match find_byte(b'<', xml.get(from..).unwrap_or_default()) {
                Some(i) => from + i,
                None => return Ok(None),
            }
        };
        match xml.get(at + 1) {
            Some(b'?') => {
                from = find(xml, at, b"?>")? + 2;
            }
            Some(b'!') if xml[at..].starts_with(b"<!--") => {
                from = find(xml, at + 4, b"-->")? + 3;
            }
            Some(b'!') | None => return Err(Unsupported),
            Some(_) => return tag(xml, at).map(Some),
        }
    }
}

/// Whether a part that begins with `head` is in UTF-8, which is all this reader reads;
/// a part in UTF-16, or declared in another encoding, is left to calamine, whatever it
/// makes of it.
pub fn utf8(head: &[u8]) -> Result<(), Unsupported> {
    let head = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let start = &head[..head.len().min(4)];
    if start.starts_with(b"\xFF\xFE") || start.starts_with(b"\xFE\xFF") || start.contains(&0) {
        return Err(Unsupported);
    }
    if head.starts_with(b"<?xml") {
        let end = find(head, 0, b"?>")?;
        let declaration = &head[..end];
        if let Some(at) = memmem::find(declaration, b"encoding") {
            let value = declaration[at..]
                .split(|b| matches!(b, b'"' | b'\''))
                .nth(1)
                .ok_or(Unsupported)?;
            if !value.eq_ignore_ascii_case(b"utf-8") && !value.eq_ignore_ascii_case(b"utf8") {
                return Err(Unsupported);
            }
        }
    }
    Ok(())
}

/// Whether a stretch of a part (whole tags and text) is what quick-xml reads without
/// complaint wherever calamine looks: UTF-8 throughout, and each `&` a reference ended
/// by `;`. A reference it does not know is refused where the scan decodes text.
pub fn well_formed(xml: &[u8]) -> Result<(), Unsupported> {
    std::str::from_utf8(xml).map_err(|_| Unsupported)?;
    for amp in memchr::memchr_iter(b'&', xml) {
        let name = &xml[amp + 1..];
        let len = name
            .iter()
            .take(12)
            .position(|b| *b == b';')
            .ok_or(Unsupported)?;
        if len == 0
            || !name[..len]
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'#')
        {
            return Err(Unsupported);
        }
    }
    Ok(())
}

/// Where `byte` first is in `bytes`. The texts and values between a sheet's tags are
/// mostly a few bytes long, shorter than `memchr` needs to pay for its call.
pub fn find_byte(byte: u8, bytes: &[u8]) -> Option<usize> {
    match bytes.get(..16) {
        Some(head) => head
            .iter()
            .position(|b| *b == byte)
            .or_else(|| memchr(byte, &bytes[16..]).map(|i| i + 16)),
        None => bytes.iter().position(|b| *b == byte),
    }
}

/// Where `needle` next begins at or after `from`.
fn find(xml: &[u8], from: usize, needle: &[u8]) -> Result<usize, Unsupported> {
    memmem::find(xml.get(from..).ok_or(Unsupported)?, needle)
        .map(|i| from + i)
        .ok_or(Unsupported)
}

/// Where the end tag `</name>` that must begin at `at` ends, `name` as written (with
/// its prefix); so text holding a comment or anything else before its end tag is left
/// to calamine.
pub fn end_tag(xml: &[u8], at: usize, name: &[u8]) -> Result<usize, Unsupported> {
    if xml.get(at..at + 2) != Some(b"</") {
        return Err(Unsupported);
    }
    // Mostly the plain `</v>`, read without parsing a tag.
    let plain = at + 2 + name.len();
    if xml.get(at + 2..plain) == Some(name) && xml.get(plain) == Some(&b'>') {
        return Ok(plain + 1);
    }
    let tag = tag(xml, at)?;
    if tag.qualified != name {
        return Err(Unsupported);
    }
    Ok(tag.end)
}

/// Reads the tag that starts at `at` (which holds `<`), its attributes checked to be
/// `name="value"` (or `'value'`) each.
fn tag(xml: &[u8], at: usize) -> Result<Tag<'_>, Unsupported> {
    let is_name = |b: &u8| !b.is_ascii_whitespace() && !matches!(b, b'>' | b'/' | b'=' | b'<');
    let mut i = at + 1;
    let close = xml.get(i) == Some(&b'/');
    if close {
        i += 1;
    }
    let start = i;
    while xml.get(i).is_some_and(is_name) {
        i += 1;
    }
    let qualified = &xml[start..i];
    if qualified.is_empty() {
        return Err(Unsupported);
    }
    // quick-xml's local name: what follows the first colon.
    let name = match qualified.iter().position(|b| *b == b':') {
        Some(colon) => &qualified[colon + 1..],
        None => qualified,
    };
    let attrs_start = i;
    // calamine reads a repeated attribute by counting the ones it wants: such tags are
    // left to it (and so are tags with very many attributes, which would take long to
    // tell).
    let mut names: [&[u8]; MAX_ATTRIBUTES] = [&[]; MAX_ATTRIBUTES];
    let mut count = 0;
    let tag = |attrs_end: usize, empty: bool, end: usize| Tag {
        name,
        qualified,
        close,
        empty,
        attrs: &xml[attrs_start..attrs_end],
        end,
    };
    let past_spaces = |mut i: usize| {
        while xml.get(i).is_some_and(u8::is_ascii_whitespace) {
            i += 1;
        }
        i
    };
    loop {
        i = past_spaces(i);
        match xml.get(i) {
            Some(b'>') => return Ok(tag(i, false, i + 1)),
            Some(b'/') if xml.get(i + 1) == Some(&b'>') && !close => {
                return Ok(tag(i, true, i + 2))
            }
            Some(b) if is_name(b) && !close => {
                let from = i;
                while xml.get(i).is_some_and(is_name) {
                    i += 1;
                }
                let attr = &xml[from..i];
                if count == MAX_ATTRIBUTES || names[..count].contains(&attr) {
                    return Err(Unsupported);
                }
                names[count] = attr;
                count += 1;
                i = past_spaces(i);
                if xml.get(i) != Some(&b'=') {
                    return Err(Unsupported);
                }
                i = past_spaces(i + 1);
                let quote = *xml
                    .get(i)
                    .filter(|q| matches!(q, b'"' | b'\''))
                    .ok_or(Unsupported)?;
                i += 1;
                i += find_byte(quote, xml.get(i..).unwrap_or_default()).ok_or(Unsupported)? + 1;
            }
            _ => return Err(Unsupported),
        }
    }
}

/// The most attributes a tag may have here; Excel writes five at most on a row.
const MAX_ATTRIBUTES: usize = 24;

/// A tag's attributes as (name, raw value) pairs.
pub struct Attrs<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Attrs<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        let rest = self.rest.trim_ascii_start();
        let eq = find_byte(b'=', rest)?;
        let name = rest[..eq].trim_ascii_end();
        let after = rest[eq + 1..].trim_ascii_start();
        let quote = *after.first()?;
        let len = find_byte(quote, &after[1..])?;
        self.rest = &after[len + 2..];
        Some((name, &after[1..len + 1]))
    }
}

/// Reads the runs of a shared or inline string from `at` up to its end tag `</end>`
/// (`end` as written, with its prefix), as calamine does: every `<t>`'s text but the
/// phonetic guides', each trimmed of ASCII spaces unless it asks to be kept as written.
/// Returns where the end tag ends.
pub fn rich_text(
    xml: &[u8],
    mut at: usize,
    end: &[u8],
    out: &mut String,
) -> Result<usize, Unsupported> {
    let mut phonetic = false;
    loop {
        let tag = next_tag(xml, at)?.ok_or(Unsupported)?;
        at = tag.end;
        match (tag.name, tag.close) {
            (_, true) if tag.qualified == end => return Ok(at),
            (b"rPh", close) if !tag.empty => phonetic = !close,
            (b"t", false) if !tag.empty && !phonetic => {
                let preserve = tag.attr(b"xml:space") == Some(b"preserve");
                let close = find_byte(b'<', &xml[at..]).ok_or(Unsupported)? + at;
                let mut run = String::new();
                text(&xml[at..close], &mut run)?;
                let run = if preserve {
                    &run[..]
                } else {
                    run.trim_matches([' ', '\t', '\r', '\n'])
                };
                no_excel_escapes(run)?;
                out.push_str(run);
                at = end_tag(xml, close, tag.qualified)?;
            }
            _ => {}
        }
    }
}

/// Refuses text holding what may be Excel's own escapes (`_x000D_`), which are
/// calamine's to undo.
pub fn no_excel_escapes(text: &str) -> Result<(), Unsupported> {
    if text.contains("_x") {
        return Err(Unsupported);
    }
    Ok(())
}

/// Appends text as XML means it: character references replaced, checked UTF-8. Line
/// ends that XML would normalise (`\r`) are left to calamine.
pub fn text(raw: &[u8], out: &mut String) -> Result<(), Unsupported> {
    if memchr(b'\r', raw).is_some() {
        return Err(Unsupported);
    }
    let mut rest = raw;
    while let Some(amp) = memchr(b'&', rest) {
        out.push_str(std::str::from_utf8(&rest[..amp]).map_err(|_| Unsupported)?);
        let semi = memchr(b';', &rest[amp..]).ok_or(Unsupported)? + amp;
        out.push(char_reference(&rest[amp + 1..semi])?);
        rest = &rest[semi + 1..];
    }
    out.push_str(std::str::from_utf8(rest).map_err(|_| Unsupported)?);
    Ok(())
}

/// The character a reference (`amp`, `#20013`, `#x4E2D`) stands for.
fn char_reference(name: &[u8]) -> Result<char, Unsupported> {
    let code = match name {
        b"lt" => return Ok('<'),
        b"gt" => return Ok('>'),
        b"amp" => return Ok('&'),
        b"quot" => return Ok('"'),
        b"apos" => return Ok('\''),
        [b'#', b'x', hex @ ..] => u32::from_str_radix(code(hex)?, 16),
        [b'#', dec @ ..] => code(dec)?.parse(),
        _ => return Err(Unsupported),
    };
    code.ok()
        .and_then(char::from_u32)
        .filter(|c| *c != '\0')
        .ok_or(Unsupported)
}

/// A character reference's number as text.
fn code(digits: &[u8]) -> Result<&str, Unsupported> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_alphanumeric) {
        return Err(Unsupported);
    }
    std::str::from_utf8(digits).map_err(|_| Unsupported)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_with_prefixes_quotes_and_ends() {
        let xml = br#"<?xml version="1.0"?><!-- x --><x:row r="2" a='1>2'/><c>t</c>"#;
        let t = next_tag(xml, 0).unwrap().unwrap();
        assert_eq!((t.name, t.close, t.empty), (&b"row"[..], false, true));
        assert_eq!(t.attr(b"r"), Some(&b"2"[..]));
        assert_eq!(t.attr(b"a"), Some(&b"1>2"[..]));
        let c = next_tag(xml, t.end).unwrap().unwrap();
        assert_eq!((c.name, c.close, c.empty), (&b"c"[..], false, false));
        let end = next_tag(xml, c.end).unwrap().unwrap();
        assert_eq!(&xml[c.end..end.end - 4], b"t");
        assert!(end.close);
        assert!(next_tag(xml, end.end).unwrap().is_none());
        assert_eq!(next_tag(b"<![CDATA[x]]>", 0).unwrap_err(), Unsupported);
        assert_eq!(next_tag(b"<c r=\"A1", 0).unwrap_err(), Unsupported);
        for odd in [
            &b"<c r=A1>"[..],
            b"<c r>",
            b"<c =\"1\">",
            b"</c r=\"1\">",
            b"<c r=\"1\"s=\"2\"<",
        ] {
            assert_eq!(next_tag(odd, 0).unwrap_err(), Unsupported, "{odd:?}");
        }
        assert_eq!(end_tag(b"</t>", 0, b"t"), Ok(4));
        assert_eq!(end_tag(b"<!---->", 0, b"t"), Err(Unsupported));
        assert_eq!(end_tag(b"</v>", 0, b"t"), Err(Unsupported));
    }

    #[test]
    fn only_utf8_parts() {
        assert_eq!(
            utf8(br#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?><a/>"#),
            Ok(())
        );
        assert_eq!(utf8(b"\xEF\xBB\xBF<a/>"), Ok(()));
        assert_eq!(utf8(b"<a/>"), Ok(()));
        assert_eq!(
            utf8(br#"<?xml version="1.0" encoding="GB2312"?><a/>"#),
            Err(Unsupported)
        );
        assert_eq!(utf8(b"\xFF\xFE<\0a\0"), Err(Unsupported));
        assert_eq!(utf8(b"<\0a\0/\0>\0"), Err(Unsupported));
        assert_eq!(utf8(b"<?xml version=\"1.0\""), Err(Unsupported));
    }

    #[test]
    fn text_with_references() {
        let mut s = String::new();
        text("a&amp;b&lt;&#20013;&#x6587;".as_bytes(), &mut s).unwrap();
        assert_eq!(s, "a&b<中文");
        assert_eq!(text(b"&nbsp;", &mut s), Err(Unsupported));
        assert_eq!(text(b"&#0;", &mut s), Err(Unsupported));
        assert_eq!(text(b"a\r\nb", &mut s), Err(Unsupported));
        assert_eq!(text(b"\xff", &mut s), Err(Unsupported));
    }
}
