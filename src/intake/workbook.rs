//! The workbook source: an xlsx (or xls, ods) file read by [`crate::office::xlsx`] on
//! a thread of its own while its rows are checked on the caller's.
use crate::office::{sheet::Piece, xlsx, OfficeError};

/// Reads the workbook, handing its pieces to `send` until it says the reader is gone.
pub fn read(bytes: &[u8], send: &mut dyn FnMut(Piece) -> bool) -> Result<(), OfficeError> {
    // The workbook is unpacked and parsed on a thread of its own while its rows are
    // checked on this one (and the store's writer stages them on a third).
    std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::sync_channel(4);
        let reader = std::thread::Builder::new()
            .name("annals-xlsx".into())
            .spawn_scoped(scope, move || {
                xlsx::read(bytes, &mut |p| tx.send(p).is_ok())
            })
            .expect("a thread to read the workbook on");
        for piece in &rx {
            if !send(piece) {
                break;
            }
        }
        // Hanging up stops the reader at its next piece.
        drop(rx);
        reader.join().expect("the workbook's reader does not panic")
    })
}
