//! A workbook's package as the quick reader needs it: where each worksheet's XML is,
//! the shared strings, which cell styles show dates, and the 1904 date system. Read the
//! way calamine reads them, so either reader gives the same cells.
use std::{
    collections::HashMap,
    io::{Cursor, Read},
};

use zip::ZipArchive;

use super::{
    limits::{MAX_NUMBER_FORMATS, MAX_RELATIONSHIPS, MAX_SHARED_STRINGS, MAX_SHEETS},
    scan::HELD_AT_MOST,
    xml::{self, next_tag, rich_text, Unsupported},
    Format,
};
use crate::office::sheet::Cell;

/// An open workbook.
pub struct Book<'a> {
    pub parts: Parts<'a>,
    /// The worksheets (chart and dialog sheets left out), in the workbook's order: name
    /// and part.
    pub sheets: Vec<(String, String)>,
    /// The shared strings, each already a cell.
    pub strings: Vec<Cell>,
    /// Each cell style's kind of number format.
    pub formats: Vec<Format>,
    /// Whether serial dates count from 1904.
    pub is_1904: bool,
}

impl<'a> Book<'a> {
    /// Opens a workbook, or says it is one for calamine to read.
    pub fn open(bytes: &'a [u8]) -> Result<Book<'a>, Unsupported> {
        let zip = ZipArchive::new(Cursor::new(bytes)).map_err(|_| Unsupported)?;
        let mut names = HashMap::with_capacity(zip.len());
        for name in zip.file_names() {
            let name = name.map_err(|_| Unsupported)?;
            names.insert(lookup_key(&name), name.to_string());
        }
        let mut book = Book {
            parts: Parts { zip, names },
            sheets: Vec::new(),
            strings: Vec::new(),
            formats: Vec::new(),
            is_1904: false,
        };
        let (dir, workbook) = book.workbook_part()?;
        if let Some(sst) = book.part(&format!("{dir}sharedStrings.xml"))? {
            book.strings = shared_strings(inner(&sst, b"sst")?)?;
        }
        if let Some(styles) = book.part(&format!("{dir}styles.xml"))? {
            book.formats = formats(inner(&styles, b"styleSheet")?)?;
        }
        let rels = book
            .part(&format!("{dir}_rels/{workbook}.rels"))?
            .ok_or(Unsupported)?;
        let rels = relationships(inner(&rels, b"Relationships")?)?;
        let wb = book.part(&format!("{dir}{workbook}"))?.ok_or(Unsupported)?;
        (book.sheets, book.is_1904) = sheets(inner(&wb, b"workbook")?, &rels, &dir)?;
        Ok(book)
    }

    /// A whole part, checked to be UTF-8 XML as quick-xml reads it (its caller reads
    /// it through [`inner`]).
    fn part(&mut self, path: &str) -> Result<Option<Vec<u8>>, Unsupported> {
        let Some(part) = self.parts.open(path)? else {
            return Ok(None);
        };
        let mut bytes = Vec::new();
        part.take(HELD_AT_MOST as u64 + 1)
            .read_to_end(&mut bytes)
            .map_err(|_| Unsupported)?;
        if bytes.len() > HELD_AT_MOST {
            return Err(Unsupported);
        }
        xml::utf8(&bytes)?;
        xml::well_formed(&bytes)?;
        Ok(Some(bytes))
    }

    /// The workbook part's folder (`xl/`) and file name, from the package's relations.
    fn workbook_part(&mut self) -> Result<(String, String), Unsupported> {
        let rels = self.part("_rels/.rels")?.ok_or(Unsupported)?;
        let mut target = None;
        each_relationship(inner(&rels, b"Relationships")?, |tag| {
            if tag
                .attr(b"Type")
                .is_some_and(|t| t.ends_with(b"/relationships/officeDocument"))
            {
                if let Some(t) = tag.attr(b"Target") {
                    target = Some(decoded(t)?);
                }
            }
            Ok(())
        })?;
        // calamine refuses a package that names no workbook part, and looks a path up
        // as it is written.
        let target = target.filter(|t| !t.contains('\\')).ok_or(Unsupported)?;
        let (dir, name) = target.split_at(target.rfind('/').map_or(0, |i| i + 1));
        let name = if name.is_empty() {
            "workbook.xml"
        } else {
            name
        };
        Ok((
            dir.strip_prefix('/').unwrap_or(dir).to_owned(),
            name.to_owned(),
        ))
    }
}

/// The package's parts.
pub struct Parts<'a> {
    zip: ZipArchive<Cursor<&'a [u8]>>,
    /// Part names by their lower-case, forward-slashed form (as calamine looks them up).
    names: HashMap<String, String>,
}

impl<'a> Parts<'a> {
    /// A part as a reader of its inflated bytes, `None` when there is no such part.
    pub fn open(
        &mut self,
        path: &str,
    ) -> Result<Option<zip::read::ZipFile<'_, Cursor<&'a [u8]>>>, Unsupported> {
        let Some(name) = self.names.get(&lookup_key(path)) else {
            return Ok(None);
        };
        self.zip.by_name(name).map(Some).map_err(|_| Unsupported)
    }
}

/// A part's name as calamine looks it up: lower case, with forward slashes.
fn lookup_key(path: &str) -> String {
    path.replace('\\', "/").to_ascii_lowercase()
}

/// What lies inside a part's root element `root`, which must open as the part's first
/// tag and close as its last: calamine reads nothing before or after it, and a part
/// cut short it refuses.
fn inner<'x>(xml: &'x [u8], root: &[u8]) -> Result<&'x [u8], Unsupported> {
    let first = next_tag(xml, 0)?.ok_or(Unsupported)?;
    if first.close || first.name != root {
        return Err(Unsupported);
    }
    if first.empty {
        return match next_tag(xml, first.end)? {
            None => Ok(&[]),
            Some(_) => Err(Unsupported),
        };
    }
    let body = xml.trim_ascii_end();
    let last = memchr::memrchr(b'<', body).ok_or(Unsupported)?;
    if last < first.end || xml::end_tag(body, last, first.qualified)? != body.len() {
        return Err(Unsupported);
    }
    Ok(&xml[first.end..last])
}

/// The next tag inside a part's root element `root` (see [`inner`]); one named as the
/// root is left to calamine, which would stop at it.
fn next_inside<'x>(
    xml: &'x [u8],
    at: usize,
    root: &[u8],
) -> Result<Option<xml::Tag<'x>>, Unsupported> {
    match next_tag(xml, at)? {
        Some(tag) if tag.name == root => Err(Unsupported),
        tag => Ok(tag),
    }
}

/// Calls `f` with every `Relationship` of a relations part, in order.
fn each_relationship(
    xml: &[u8],
    mut f: impl FnMut(&xml::Tag) -> Result<(), Unsupported>,
) -> Result<(), Unsupported> {
    let mut at = 0;
    while let Some(tag) = next_inside(xml, at, b"Relationships")? {
        if !tag.close && tag.name == b"Relationship" {
            f(&tag)?;
        }
        at = tag.end;
    }
    Ok(())
}

/// An attribute's value with its character references replaced.
fn decoded(raw: &[u8]) -> Result<String, Unsupported> {
    let mut s = String::with_capacity(raw.len());
    xml::text(raw, &mut s)?;
    Ok(s)
}

/// A workbook's relations: id → (target, type).
type Relations = HashMap<Vec<u8>, (String, Vec<u8>)>;

fn relationships(xml: &[u8]) -> Result<Relations, Unsupported> {
    let mut rels = HashMap::new();
    each_relationship(xml, |tag| {
        // More are left to calamine, and its limits.
        if rels.len() == MAX_RELATIONSHIPS {
            return Err(Unsupported);
        }
        if let Some(id) = tag.attr(b"Id") {
            let target = std::str::from_utf8(tag.attr(b"Target").unwrap_or_default())
                .map_err(|_| Unsupported)?;
            let kind = tag.attr(b"Type").unwrap_or_default();
            rels.insert(id.to_vec(), (target.to_owned(), kind.to_vec()));
        }
        Ok(())
    })?;
    Ok(rels)
}

/// The worksheets named in the workbook part, and whether it counts dates from 1904.
type Sheets = (Vec<(String, String)>, bool);

fn sheets(xml: &[u8], rels: &Relations, dir: &str) -> Result<Sheets, Unsupported> {
    let mut sheets = Vec::new();
    // calamine finds a sheet by its name, and reads a part once for each sheet naming
    // it: workbooks that repeat either are left to it.
    let mut names = std::collections::HashSet::new();
    let mut paths = std::collections::HashSet::new();
    let mut is_1904 = false;
    // calamine reads a defined name's content as text, tags and all.
    let mut in_defined_name = false;
    let mut at = 0;
    while let Some(tag) = next_inside(xml, at, b"workbook")? {
        at = tag.end;
        if in_defined_name {
            if tag.close && tag.name == b"definedName" {
                in_defined_name = false;
                continue;
            }
            return Err(Unsupported);
        }
        if tag.close {
            continue;
        }
        match tag.name {
            b"definedName" => in_defined_name = !tag.empty,
            // More are left to calamine, and its limits.
            b"sheet" if names.len() == MAX_SHEETS => return Err(Unsupported),
            b"sheet" => {
                let mut name = None;
                let mut id = None;
                for (k, v) in tag.attrs() {
                    match k {
                        b"name" => name = Some(decoded(v)?),
                        b"state" if !matches!(v, b"visible" | b"hidden" | b"veryHidden") => {
                            return Err(Unsupported)
                        }
                        k if k == b"id" || k.ends_with(b":id") => id = Some(v),
                        _ => {}
                    }
                }
                let (target, kind) = rels.get(id.ok_or(Unsupported)?).ok_or(Unsupported)?;
                let path = match target.strip_prefix('/') {
                    Some(absolute) => absolute.to_owned(),
                    None => format!("{dir}{target}"),
                };
                let name = name.unwrap_or_default();
                if path.contains('\\') || !names.insert(name.clone()) || !paths.insert(path.clone())
                {
                    return Err(Unsupported);
                }
                match kind.rsplit(|b| *b == b'/').next() {
                    Some(b"worksheet") => sheets.push((name, path)),
                    Some(b"chartsheet" | b"dialogsheet") => {}
                    _ => return Err(Unsupported),
                }
            }
            b"workbookPr" => {
                if let Some(v) = tag.attr(b"date1904") {
                    is_1904 = v == b"1" || v == b"true";
                }
            }
            _ => {}
        }
    }
    Ok((sheets, is_1904))
}

/// The shared strings table, each string read as calamine reads it and made a cell.
fn shared_strings(xml: &[u8]) -> Result<Vec<Cell>, Unsupported> {
    let mut strings = Vec::new();
    let mut text = String::new();
    let mut at = 0;
    while let Some(tag) = next_inside(xml, at, b"sst")? {
        at = tag.end;
        if !tag.close && tag.name == b"si" {
            // More are left to calamine, and its limits.
            if strings.len() == MAX_SHARED_STRINGS {
                return Err(Unsupported);
            }
            text.clear();
            if !tag.empty {
                at = rich_text(xml, at, tag.qualified, &mut text)?;
            }
            strings.push(Cell::text(&text));
        }
    }
    Ok(strings)
}

/// Each cell style's number format kind, from the styles part's `cellXfs`.
fn formats(xml: &[u8]) -> Result<Vec<Format>, Unsupported> {
    let mut custom: HashMap<Vec<u8>, Format> = HashMap::new();
    let mut formats = Vec::new();
    let mut in_num_fmts = false;
    let mut in_cell_xfs = false;
    // calamine reads an `xf`'s body up to the first `</xf>`: one inside another is
    // left to it.
    let mut in_xf = false;
    let mut at = 0;
    while let Some(tag) = next_inside(xml, at, b"styleSheet")? {
        at = tag.end;
        match (tag.name, tag.close) {
            (b"xf", false) if in_xf => return Err(Unsupported),
            (b"xf", true) => in_xf = false,
            (b"numFmts", close) => in_num_fmts = !close && !tag.empty,
            // More are left to calamine, and its limits.
            (b"numFmt", false) if in_num_fmts && custom.len() == MAX_NUMBER_FORMATS => {
                return Err(Unsupported)
            }
            (b"numFmt", false) if in_num_fmts => {
                if let (Some(id), Some(code)) = (tag.attr(b"numFmtId"), tag.attr(b"formatCode")) {
                    custom.insert(id.to_vec(), Format::of_code(&decoded(code)?));
                }
            }
            (b"cellXfs", close) => in_cell_xfs = !close && !tag.empty,
            (b"xf", false) if in_cell_xfs => {
                in_xf = !tag.empty;
                formats.push(match tag.attr(b"numFmtId") {
                    Some(id) => custom
                        .get(id)
                        .copied()
                        .unwrap_or_else(|| Format::of_builtin(id)),
                    None => Format::Other,
                });
            }
            (b"xf", false) => in_xf = !tag.empty,
            _ => {}
        }
    }
    Ok(formats)
}
