//! How much a workbook may unpack to, so that no workbook exhausts memory whatever it
//! holds (issue 13: a workbook of about 1 MB took the server to 7.7 GB).
//!
//! A zip's directory says how large each part inflates to, and the zip crate refuses to
//! inflate a part past that; so the sizes it declares, checked before calamine opens
//! the workbook, bound what calamine can be handed. calamine streams a worksheet, but
//! holds a whole XML event of it at once (a text, a tag) and the names of every element
//! still open, so a worksheet is held to a size whose worst case stays within the
//! bound. The other parts it reads whole into tables: its shared strings as strings, a
//! copy of a font, a fill, a border and a number format in every cell style, the
//! sheets' names and parts; they are held to tighter limits, with a look inside the
//! shared strings and the styles.
use std::io::{Cursor, Read};

use memchr::{memchr_iter, memmem};
use zip::ZipArchive;

use super::CFB_MAGIC;
use crate::office::{OfficeError, Words};

/// The most any part may unpack to, before what it is matters.
pub const MAX_PART: u64 = 512 << 20;

/// The most a worksheet may unpack to: about 130 000 rows of a register of seven
/// filled columns (the sheet bench's, some 250 bytes a row). calamine holds one XML
/// event of it at once, and the name and start of every element still open (three
/// bytes of `<a>` take nine): a worksheet this large of one text, or of elements nested
/// as deep as it allows, read beside shared strings and styles at their limits, takes
/// about 200 MB (RELIABILITY.md, `*-at-limits.xlsx`); at 48 MiB it took 250 MB.
pub const MAX_SHEET: u64 = 32 << 20;

/// The most shared strings a workbook may say it holds: calamine makes room for that
/// many before it reads one.
pub const MAX_SHARED_STRINGS: usize = 1_000_000;

/// The most sheets a workbook may have (each is a sheet's state while it is read).
pub const MAX_SHEETS: usize = 1_000;

/// The most any other part may unpack to: calamine may hold all of it as one event,
/// and the names of its open elements take several times that.
pub const MAX_TABLE_PART: u64 = 16 << 20;

/// The most all the XML but the worksheets may unpack to: calamine builds its tables
/// (shared strings, sheets, relations) at up to about five times their XML.
pub const MAX_TABLES_XML: u64 = 32 << 20;

/// The most a styles part may unpack to: its fonts, fills and borders take about
/// fifteen times their XML.
pub const MAX_STYLES: u64 = 4 << 20;

/// The most a relations part may unpack to: a workbook's relations name its sheets and
/// a few parts, a few kilobytes; calamine keeps them in a table.
pub const MAX_RELS: u64 = 1 << 20;

/// The most calamine's cell styles may take, each about [`STYLE_BYTES`] and a copy of
/// its font's name and its number format.
const MAX_STYLE_TABLE: u64 = 64 << 20;

/// What one of calamine's cell styles takes besides its texts (measured: two million
/// take 360 MB).
const STYLE_BYTES: u64 = 256;

/// Checks a workbook before calamine opens it: every part within [`MAX_PART`], then
/// each within what calamine may hold of it, its shared strings' declared count and
/// what its styles would take.
pub fn check(bytes: &[u8]) -> Result<(), OfficeError> {
    let Some(mut zip) = open(bytes) else {
        return Ok(());
    };
    check_sizes(&mut zip)?;
    check_for_calamine(&mut zip)
}

/// Checks every part's unpacked size, as the zip's directory declares it.
fn check_sizes(zip: &mut ZipArchive<Cursor<&[u8]>>) -> Result<(), OfficeError> {
    for i in 0..zip.len() {
        let (name, size) = entry(zip, i)?;
        if size > MAX_PART {
            return Err(over(&name, size, MAX_PART, &What("一个部分", "a part")));
        }
    }
    Ok(())
}

/// Checks every part and all the tables' XML together within what calamine may hold
/// of them, its shared strings' declared count and what its styles would take.
fn check_for_calamine(zip: &mut ZipArchive<Cursor<&[u8]>>) -> Result<(), OfficeError> {
    let sheets_apart = worksheets_are_apart(zip);
    let mut xml = 0u64;
    let mut looked_into = Vec::new();
    for i in 0..zip.len() {
        let (name, size) = entry(zip, i)?;
        // calamine looks its parts up by their lower-case, forward-slashed names.
        let key = name.replace('\\', "/").to_ascii_lowercase();
        let is = |file: &str| key == file || key.ends_with(&format!("/{file}"));
        let table = !key.ends_with(".xml") || is("styles.xml") || is("sharedstrings.xml");
        if sheets_apart && key.contains("worksheets/") && !table {
            if size > MAX_SHEET {
                return Err(over(
                    &name,
                    size,
                    MAX_SHEET,
                    &What("一个工作表", "a worksheet"),
                ));
            }
            continue;
        }
        if size > MAX_TABLE_PART {
            return Err(over(&name, size, MAX_TABLE_PART, &OTHER_PART));
        }
        if key.ends_with(".xml") || key.ends_with(".rels") {
            xml += size;
            if xml > MAX_TABLES_XML {
                return Err(OfficeError::OverLimit {
                    part: "its XML parts together".into(),
                    reason: Words::new(
                        format!(
                            "（除工作表外的各 XML 部分合计）解压后超过允许的 {}",
                            mib(MAX_TABLES_XML)
                        ),
                        format!(
                            "unpack to more than the {} they may, worksheets left out",
                            mib(MAX_TABLES_XML)
                        ),
                    ),
                });
            }
        }
        if is("styles.xml") && size > MAX_STYLES {
            return Err(over(
                &name,
                size,
                MAX_STYLES,
                &What("样式部分", "a styles part"),
            ));
        }
        if key.ends_with(".rels") && size > MAX_RELS {
            return Err(over(
                &name,
                size,
                MAX_RELS,
                &What("关系部分", "a relations part"),
            ));
        }
        if is("styles.xml") || is("sharedstrings.xml") {
            looked_into.push((i, name, is("styles.xml")));
        }
    }
    for (i, name, styles) in looked_into {
        let mut part = Vec::new();
        let read = zip
            .by_index(i)
            .map(|p| p.take(MAX_TABLE_PART).read_to_end(&mut part));
        if !matches!(read, Ok(Ok(_))) {
            // A part that does not inflate is calamine's to call damaged.
            continue;
        }
        if styles {
            check_styles(&name, &part)?;
        } else {
            check_unique_count(&name, &part)?;
        }
    }
    Ok(())
}

/// A workbook with more than [`MAX_SHEETS`] worksheets is refused.
pub fn check_sheets(count: usize) -> Result<(), OfficeError> {
    if count > MAX_SHEETS {
        return Err(OfficeError::OverLimit {
            part: "xl/workbook.xml".into(),
            reason: Words::new(
                format!("列出了 {count} 个工作表，超过一个工作簿允许的 {MAX_SHEETS} 个"),
                format!("names {count} sheets, more than the {MAX_SHEETS} a workbook may have"),
            ),
        });
    }
    Ok(())
}

/// What the tighter limit is for.
const OTHER_PART: What = What("工作表以外的部分", "a part other than a worksheet");

/// Whether the worksheets' folder holds only worksheets, as far as calamine goes:
/// calamine finds its workbook part, and beside it the shared strings and styles, where
/// the package's relations point, so unless they point into a `worksheets` folder no
/// part calamine reads whole is there. A package whose relations could hide such a path
/// (a character reference, or an encoding with NUL bytes, UTF-16) gets no room for
/// larger worksheets.
fn worksheets_are_apart(zip: &mut ZipArchive<Cursor<&[u8]>>) -> bool {
    for i in 0..zip.len() {
        let is_rels = zip.name_for_index(i).is_some_and(|name| {
            name.is_ok_and(|name| name.replace('\\', "/").eq_ignore_ascii_case("_rels/.rels"))
        });
        if !is_rels {
            continue;
        }
        let mut rels = Vec::new();
        let read = zip
            .by_index(i)
            .map(|p| p.take(MAX_RELS + 1).read_to_end(&mut rels));
        if !matches!(read, Ok(Ok(_))) || rels.len() as u64 > MAX_RELS {
            return false;
        }
        rels.make_ascii_lowercase();
        if rels.contains(&0) || rels.contains(&b'&') || memmem::find(&rels, b"worksheets").is_some()
        {
            return false;
        }
    }
    true
}

/// The workbook's zip, or `None` for what is not one (an old or encrypted workbook,
/// which calamine refuses at once, or a damaged zip, which it calls damaged).
fn open(bytes: &[u8]) -> Option<ZipArchive<Cursor<&[u8]>>> {
    if bytes.starts_with(CFB_MAGIC) {
        return None;
    }
    ZipArchive::new(Cursor::new(bytes)).ok()
}

/// An entry's name and declared unpacked size.
fn entry(zip: &mut ZipArchive<Cursor<&[u8]>>, i: usize) -> Result<(String, u64), OfficeError> {
    let file = zip.by_index_raw(i).map_err(|e| super::not_a_workbook(&e))?;
    let name = String::from_utf8_lossy(file.name_raw()).into_owned();
    Ok((name, file.size()))
}

/// A part over the limit for `what` it is.
fn over(part: &str, size: u64, cap: u64, what: &What) -> OfficeError {
    let (size, cap) = (mib(size), mib(cap));
    OfficeError::OverLimit {
        part: part.to_owned(),
        reason: Words::new(
            format!("解压后为 {size}，超过{}允许的 {cap}", what.0),
            format!("unpacks to {size}, more than the {cap} {} may hold", what.1),
        ),
    }
}

/// A kind of part, in Chinese and in English.
struct What(&'static str, &'static str);

/// A size in MiB, rounded up.
fn mib(bytes: u64) -> String {
    format!("{} MiB", bytes.div_ceil(1 << 20))
}

/// calamine makes room for as many shared strings as the part's `uniqueCount` says: a
/// count of billions asks for hundreds of gigabytes, and the process aborts.
fn check_unique_count(name: &str, xml: &[u8]) -> Result<(), OfficeError> {
    for at in memmem::find_iter(xml, b"uniqueCount") {
        let rest = &xml[at + b"uniqueCount".len()..];
        let value = rest
            .iter()
            .skip_while(|b| b.is_ascii_whitespace() || matches!(b, b'=' | b'"' | b'\'' | b'+'));
        let mut count = 0u64;
        for b in value.take_while(|b| b.is_ascii_digit()) {
            count = count.saturating_mul(10).saturating_add(u64::from(b - b'0'));
        }
        if count > MAX_SHARED_STRINGS as u64 {
            return Err(OfficeError::OverLimit {
                part: name.to_owned(),
                reason: Words::new(
                    format!(
                        "声明含有 {count} 个字符串，超过一个工作簿允许的 {MAX_SHARED_STRINGS} 个"
                    ),
                    format!(
                        "says it holds {count} strings, more than the {MAX_SHARED_STRINGS} a \
                         workbook may"
                    ),
                ),
            });
        }
    }
    Ok(())
}

/// What calamine's cell styles would take, at most: each `xf` element a style, each
/// style with a copy of a font name and a number format, neither longer than the
/// longest quoted value in the part.
fn check_styles(name: &str, xml: &[u8]) -> Result<(), OfficeError> {
    let styles = ["<xf", ":xf"]
        .iter()
        .map(|tag| {
            memmem::find_iter(xml, tag.as_bytes())
                .filter(|at| {
                    xml.get(at + 3)
                        .is_some_and(|b| b.is_ascii_whitespace() || matches!(b, b'/' | b'>'))
                })
                .count() as u64
        })
        .sum::<u64>();
    let longest = [b'"', b'\'']
        .iter()
        .map(|quote| {
            let mut last = None;
            let mut longest = 0;
            for at in memchr_iter(*quote, xml) {
                if let Some(before) = last {
                    longest = longest.max(at - before - 1);
                }
                last = Some(at);
            }
            longest as u64
        })
        .max()
        .unwrap_or(0);
    let table = styles.saturating_mul(STYLE_BYTES + 2 * longest);
    if table > MAX_STYLE_TABLE {
        return Err(OfficeError::OverLimit {
            part: name.to_owned(),
            reason: Words::new(
                format!(
                    "有 {styles} 个单元格样式，文字最长 {longest} 字节，读取需要 {}，\
                     超过工作簿样式允许的 {}",
                    mib(table),
                    mib(MAX_STYLE_TABLE)
                ),
                format!(
                    "has {styles} cell styles with texts of up to {longest} bytes, which would \
                     take {}, more than the {} a workbook's styles may",
                    mib(table),
                    mib(MAX_STYLE_TABLE)
                ),
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_unique_count_of_billions_is_refused() {
        let ok = br#"<sst count="3" uniqueCount="1000000"><si><t>a</t></si></sst>"#;
        assert!(check_unique_count("xl/sharedStrings.xml", ok).is_ok());
        for bad in [
            &br#"<sst uniqueCount="4000000000">"#[..],
            br#"<x:sst uniqueCount = '+1000001'>"#,
        ] {
            let err = check_unique_count("xl/sharedStrings.xml", bad).unwrap_err();
            assert!(err.to_string().contains("xl/sharedStrings.xml"), "{err}");
        }
    }

    #[test]
    fn styles_are_refused_by_what_calamine_would_make_of_them() {
        let few = br#"<styleSheet><fonts><font><name val="Calibri"/></font></fonts><cellXfs><xf numFmtId="14" fontId="0"/><x:xf/></cellXfs></styleSheet>"#;
        assert!(check_styles("xl/styles.xml", few).is_ok());
        let name = "x".repeat(300_000);
        let bomb = format!(
            r#"<styleSheet><fonts><font><name val="{name}"/></font></fonts><cellXfs>{}</cellXfs></styleSheet>"#,
            r#"<xf fontId="0"/>"#.repeat(200)
        );
        let err = check_styles("xl/styles.xml", bomb.as_bytes()).unwrap_err();
        assert!(err.to_string().contains("200 cell styles"), "{err}");
    }
}
