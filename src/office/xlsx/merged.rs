//! Whether a workbook has a merged region anywhere, found by looking for the element's
//! name in its parts as they inflate: calamine reads a sheet's merged regions only by
//! reading the whole sheet a second time, which only workbooks that have some need pay.
use std::io::{Cursor, Read};

use memchr::memmem;
use zip::ZipArchive;

/// The name every merged region's element has (`<mergeCells>`, `<x:mergeCell …>`):
/// XML spells an element's name out, so a part without these bytes has none.
const NAME: &[u8] = b"mergeCell";

/// Inflated bytes looked at a time.
const CHUNK: usize = 64 * 1024;

/// Whether any part of the workbook may hold a merged region; true too for a workbook
/// that does not read as a zip, which calamine then refuses.
pub fn anywhere(bytes: &[u8]) -> bool {
    let Ok(mut zip) = ZipArchive::new(Cursor::new(bytes)) else {
        return true;
    };
    let finder = memmem::Finder::new(NAME);
    let mut buf = vec![0; CHUNK + NAME.len()];
    for i in 0..zip.len() {
        let Ok(mut part) = zip.by_index(i) else {
            return true;
        };
        // The end of the previous chunk is kept, so that a name cut in two is found.
        let mut kept = 0;
        loop {
            let filled = match part.read(&mut buf[kept..]) {
                Ok(0) => break,
                Ok(n) => kept + n,
                Err(_) => return true,
            };
            if finder.find(&buf[..filled]).is_some() {
                return true;
            }
            kept = (NAME.len() - 1).min(filled);
            buf.copy_within(filled - kept..filled, 0);
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn zip_of(parts: &[(&str, Vec<u8>)]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        for (name, body) in parts {
            zip.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            zip.write_all(body).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    #[test]
    fn a_merged_region_is_found_wherever_its_name_falls() {
        let rows = "<row><c><v>1</v></c></row>".repeat(20_000);
        assert!(!anywhere(&zip_of(&[(
            "xl/worksheets/sheet1.xml",
            rows.clone().into()
        )])));
        // Across the edge between two chunks, at every cut.
        for shift in 0..NAME.len() {
            let mut sheet = vec![b' '; CHUNK - shift];
            sheet.extend_from_slice(b"<x:mergeCells><x:mergeCell ref=\"A1:B2\"/>");
            assert!(anywhere(&zip_of(&[
                ("xl/worksheets/sheet1.xml", rows.clone().into()),
                ("xl/worksheets/sheet2.xml", sheet),
            ])));
        }
        assert!(anywhere(b"not a zip"));
    }
}
