//! How much a workbook may unpack to, so that no workbook exhausts memory whatever it
//! holds (issue 13: a workbook of about 1 MB took the server to 7.7 GB).
//!
//! A zip's directory says how large each part inflates to, and the zip crate refuses to
//! inflate a part past that; so the sizes it declares, checked before a reader opens
//! the workbook, bound what the reader can be handed. The quick reader streams a
//! worksheet, holding at most `HELD_AT_MOST` of it at once, and reads the other parts
//! whole up to that much (leaving larger ones to calamine). calamine holds more of what
//! it reads: a whole XML event (a text, a tag, and the names of every element still
//! open), its shared strings as strings, and a copy of a font, a fill, a border and a
//! number format in every cell style. So a workbook left to calamine is held to tighter
//! limits first, with a look inside its shared strings and styles.
use std::io::{Cursor, Read};

use memchr::{memchr_iter, memmem};
use zip::ZipArchive;

use super::CFB_MAGIC;
use crate::office::OfficeError;

/// The most any part may unpack to. Only a worksheet is ever this large, and the quick
/// reader streams it: a register of a million rows of ten cells takes about 300 MB.
pub const MAX_PART: u64 = 512 << 20;

/// The most shared strings the quick reader keeps (a cell each, with its text, about
/// 64 bytes); a workbook with more is left to calamine, and its limits.
pub const MAX_SHARED_STRINGS: usize = 1_000_000;

/// The most sheets a workbook may have (each is a sheet's state while it is read).
pub const MAX_SHEETS: usize = 1_000;

/// The most custom number formats the quick reader keeps (Excel allows about 250); a
/// workbook with more is left to calamine.
pub const MAX_NUMBER_FORMATS: usize = 10_000;

/// The most relations the quick reader reads from a workbook's relations part: its
/// sheets, and a few parts besides; a workbook with more is left to calamine.
pub const MAX_RELATIONSHIPS: usize = 2 * MAX_SHEETS + 100;

/// The most any part of a workbook left to calamine may unpack to: calamine may hold
/// all of it as one event, and the names of its open elements take several times that.
pub const MAX_PART_FOR_CALAMINE: u64 = 16 << 20;

/// The most all the XML of a workbook left to calamine may unpack to: it builds its
/// tables (shared strings, sheets, relations) at up to about five times their XML.
pub const MAX_XML_FOR_CALAMINE: u64 = 32 << 20;

/// The most a styles part left to calamine may unpack to: its fonts, fills and borders
/// take about fifteen times their XML.
pub const MAX_STYLES_FOR_CALAMINE: u64 = 4 << 20;

/// The most a relations part left to calamine may unpack to: a workbook's relations
/// name its sheets and a few parts, a few kilobytes; calamine keeps them in a table.
pub const MAX_RELS_FOR_CALAMINE: u64 = 1 << 20;

/// The most calamine's cell styles may take, each about [`STYLE_BYTES`] and a copy of
/// its font's name and its number format.
const MAX_STYLE_TABLE: u64 = 64 << 20;

/// What one of calamine's cell styles takes besides its texts (measured: two million
/// take 360 MB).
const STYLE_BYTES: u64 = 256;

/// Checks every part's unpacked size, as the zip's directory declares it, before either
/// reader opens the workbook.
pub fn check(bytes: &[u8]) -> Result<(), OfficeError> {
    let Some(mut zip) = open(bytes) else {
        return Ok(());
    };
    for i in 0..zip.len() {
        let (name, size) = entry(&mut zip, i)?;
        if size > MAX_PART {
            return Err(over(&name, size, MAX_PART, ""));
        }
    }
    Ok(())
}

/// Checks a workbook before calamine opens it: every part and all its XML together
/// within calamine's limits, its shared strings' declared count (calamine makes room
/// for that many strings before it reads one) and what its styles would take.
pub fn check_for_calamine(bytes: &[u8]) -> Result<(), OfficeError> {
    let Some(mut zip) = open(bytes) else {
        return Ok(());
    };
    let mut xml = 0u64;
    let mut looked_into = Vec::new();
    for i in 0..zip.len() {
        let (name, size) = entry(&mut zip, i)?;
        if size > MAX_PART_FOR_CALAMINE {
            return Err(over(&name, size, MAX_PART_FOR_CALAMINE, LEFT_TO_CALAMINE));
        }
        // calamine looks its parts up by their lower-case, forward-slashed names.
        let key = name.replace('\\', "/").to_ascii_lowercase();
        if key.ends_with(".xml") || key.ends_with(".rels") {
            xml += size;
            if xml > MAX_XML_FOR_CALAMINE {
                return Err(OfficeError::OverLimit {
                    part: "its XML parts together".into(),
                    reason: format!(
                        "unpack to more than the {} they may{LEFT_TO_CALAMINE}",
                        mib(MAX_XML_FOR_CALAMINE)
                    ),
                });
            }
        }
        let is = |file: &str| key == file || key.ends_with(&format!("/{file}"));
        if is("styles.xml") && size > MAX_STYLES_FOR_CALAMINE {
            return Err(over(&name, size, MAX_STYLES_FOR_CALAMINE, LEFT_TO_CALAMINE));
        }
        if key.ends_with(".rels") && size > MAX_RELS_FOR_CALAMINE {
            return Err(over(&name, size, MAX_RELS_FOR_CALAMINE, LEFT_TO_CALAMINE));
        }
        if is("styles.xml") || is("sharedstrings.xml") {
            looked_into.push((i, name, is("styles.xml")));
        }
    }
    for (i, name, styles) in looked_into {
        let mut part = Vec::new();
        let read = zip
            .by_index(i)
            .map(|p| p.take(MAX_PART_FOR_CALAMINE).read_to_end(&mut part));
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
            reason: format!("names {count} sheets, more than the {MAX_SHEETS} a workbook may have"),
        });
    }
    Ok(())
}

/// The limits of a workbook left to calamine are for workbooks the quick reader does not
/// read, which only writers other than these make.
const LEFT_TO_CALAMINE: &str = " in a workbook not written as Excel, WPS or LibreOffice write them";

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
    let file = zip.by_index_raw(i).map_err(|e| {
        OfficeError::Unreadable(format!(
            "the file is not an Excel workbook (.xlsx) ({e}); save it from Excel or WPS as \
             an Excel workbook (.xlsx, Excel 工作簿)"
        ))
    })?;
    let name = String::from_utf8_lossy(file.name_raw()).into_owned();
    Ok((name, file.size()))
}

fn over(part: &str, size: u64, cap: u64, note: &str) -> OfficeError {
    OfficeError::OverLimit {
        part: part.to_owned(),
        reason: format!(
            "unpacks to {}, more than the {} a part may hold{note}",
            mib(size),
            mib(cap)
        ),
    }
}

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
                reason: format!(
                    "says it holds {count} strings, more than the {MAX_SHARED_STRINGS} a \
                     workbook may"
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
            reason: format!(
                "has {styles} cell styles with texts of up to {longest} bytes, which would \
                 take {}, more than the {} a workbook's styles may",
                mib(table),
                mib(MAX_STYLE_TABLE)
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
