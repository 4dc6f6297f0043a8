//! The files inside a TNEF attachment (`winmail.dat`, `application/ms-tnef`), which Outlook and
//! Exchange send instead of ordinary MIME attachments: without unpacking, an agent sees one
//! opaque file where the customer attached a PDF and a screenshot.
//!
//! TNEF ([MS-OXTNEF]) is a signature and a flat run of attributes, each `level (u8), id (u32),
//! length (u32), data, checksum (u16)`. An attachment starts at its `attAttachRendData`; its
//! bytes are `attAttachData`, its 8.3 name `attAttachTitle`, and its MAPI properties
//! (`attAttachment`) may hold the long file name, the MIME type and the Content-ID. The
//! message's plain-text body (`attBody`, or `PR_BODY` among its properties) is read for mail
//! whose only body is inside. Nothing else is: the RTF body and the other properties stay in
//! the raw message, which is kept whole. Anything malformed ends the walk with an error; the caller then
//! keeps the `winmail.dat` as it came. (The `tnef` crate was tried first: it refused 8 of the
//! 9 TNEF files of the test corpus on message attributes it does not know.)
//!
//! [MS-OXTNEF]: https://learn.microsoft.com/openspec/exchange_server_protocols/ms-oxtnef

use mail_parser::decoders::charsets::map::charset_decoder;

const SIGNATURE: u32 = 0x223E_9F78;
const LEVEL_MESSAGE: u8 = 0x01;
const LEVEL_ATTACHMENT: u8 = 0x02;
const ATT_OEM_CODEPAGE: u32 = 0x0006_9007;
const ATT_BODY: u32 = 0x0002_800C;
const ATT_MSG_PROPS: u32 = 0x0006_9003;
const ATT_ATTACH_REND_DATA: u32 = 0x0006_9002;
const ATT_ATTACH_TITLE: u32 = 0x0001_8010;
const ATT_ATTACH_DATA: u32 = 0x0006_800F;
const ATT_ATTACHMENT: u32 = 0x0006_9005;

const PR_ATTACH_LONG_FILENAME: u16 = 0x3707;
const PR_ATTACH_MIME_TAG: u16 = 0x370E;
const PR_ATTACH_CONTENT_ID: u16 = 0x3712;
const PR_ATTACH_DATA_OBJ: u16 = 0x3701;
const PR_DISPLAY_NAME: u16 = 0x3001;
const PR_BODY: u16 = 0x1000;
const PR_ATTACH_METHOD: u16 = 0x3705;
/// `PR_ATTACH_METHOD` of an embedded Outlook message, and of an OLE object.
const ATTACH_EMBEDDED_MSG: u32 = 5;
const ATTACH_OLE: u32 = 6;

/// Most files a TNEF stream may unpack into, and most MAPI properties read per attachment: a
/// hostile stream cannot make the walk large.
const MAX_FILES: usize = 256;
const MAX_PROPERTIES: u32 = 4096;

/// Why a stream could not be unpacked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TnefError {
    #[error("not a TNEF stream (no signature)")]
    NoSignature,
    #[error("the TNEF stream ends inside an attribute")]
    Truncated,
    #[error("TNEF attribute {0:#010x} fails its checksum")]
    Checksum(u32),
    #[error("unknown TNEF attribute level {0}")]
    Level(u8),
    #[error("more than {MAX_FILES} files in the TNEF stream")]
    TooManyFiles,
}

/// One file unpacked from a TNEF stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TnefFile<'a> {
    /// The long file name if the properties give one, else the 8.3 title, else empty.
    pub name: String,
    /// `PR_ATTACH_MIME_TAG`, when Outlook recorded one.
    pub content_type: Option<String>,
    pub content_id: Option<String>,
    /// An embedded Outlook message or OLE object: its `bytes` are only Outlook's placeholder
    /// ("This attachment is a MAPI 1.0 embedded message…"), not a file to show.
    pub embedded: bool,
    pub bytes: &'a [u8],
}

/// What a TNEF stream holds that a desk shows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tnef<'a> {
    pub files: Vec<TnefFile<'a>>,
    /// The message's plain-text body (`attBody`, or `PR_BODY` among the message's properties),
    /// for mail whose only body is inside the `winmail.dat`. (The RTF body is not read.)
    pub body: Option<String>,
}

/// Whether a MIME part is TNEF, by its type or, for mailers that label it
/// `application/octet-stream`, its name.
pub fn is_tnef(content_type: &str, filename: Option<&str>) -> bool {
    let content_type = content_type.to_ascii_lowercase();
    content_type == "application/ms-tnef"
        || content_type == "application/vnd.ms-tnef"
        || filename.is_some_and(|f| f.eq_ignore_ascii_case("winmail.dat"))
}

/// The files of a TNEF stream, in order, and its plain-text body. Attachments without data (a
/// link to a file elsewhere) are left out; embedded messages and objects are listed (marked).
pub fn unpack(data: &[u8]) -> Result<Tnef<'_>, TnefError> {
    let mut reader = Reader(data);
    if reader.u32().ok() != Some(SIGNATURE) {
        return Err(TnefError::NoSignature);
    }
    reader.take(2)?; // the legacy key
    let mut code_page = 1252;
    let mut files = Vec::new();
    let mut body = None;
    let mut current: Option<Partial<'_>> = None;
    while !reader.0.is_empty() {
        let level = reader.u8()?;
        let id = reader.u32()?;
        let len = reader.u32()? as usize;
        let value = reader.take(len)?;
        let checksum = reader.u16()?;
        if value.iter().fold(0u16, |sum, b| sum.wrapping_add(u16::from(*b))) != checksum {
            return Err(TnefError::Checksum(id));
        }
        match level {
            LEVEL_MESSAGE => {
                if id == ATT_OEM_CODEPAGE && value.len() >= 4 {
                    code_page = u32::from_le_bytes([value[0], value[1], value[2], value[3]]);
                } else if id == ATT_BODY {
                    body = Some(decode_8bit(trim_nul(value), code_page));
                } else if id == ATT_MSG_PROPS
                    && let Ok(props) = properties(value, code_page)
                {
                    body = body.or(props.body);
                }
            }
            LEVEL_ATTACHMENT => match id {
                ATT_ATTACH_REND_DATA => {
                    if let Some(done) = current.take().and_then(Partial::finish) {
                        push(&mut files, done)?;
                    }
                    current = Some(Partial::default());
                }
                ATT_ATTACH_TITLE => current.get_or_insert_default().title = Some(decode_8bit(trim_nul(value), code_page)),
                ATT_ATTACH_DATA => current.get_or_insert_default().data = Some(value),
                ATT_ATTACHMENT => {
                    let partial = current.get_or_insert_default();
                    // Properties that cannot be read leave the title and data as they are.
                    if let Ok(props) = properties(value, code_page) {
                        partial.props = props;
                    }
                }
                _ => {}
            },
            other => return Err(TnefError::Level(other)),
        }
    }
    if let Some(done) = current.and_then(Partial::finish) {
        push(&mut files, done)?;
    }
    let body = body.map(|b| b.replace("\r\n", "\n").replace('\0', "").trim_end().to_owned()).filter(|b| !b.trim().is_empty());
    Ok(Tnef { files, body })
}

fn push<'a>(files: &mut Vec<TnefFile<'a>>, file: TnefFile<'a>) -> Result<(), TnefError> {
    if files.len() == MAX_FILES {
        return Err(TnefError::TooManyFiles);
    }
    files.push(file);
    Ok(())
}

#[derive(Default)]
struct Partial<'a> {
    title: Option<String>,
    data: Option<&'a [u8]>,
    props: Props<'a>,
}

impl<'a> Partial<'a> {
    fn finish(self) -> Option<TnefFile<'a>> {
        let embedded = matches!(self.props.method, Some(ATTACH_EMBEDDED_MSG | ATTACH_OLE));
        // An embedded message may come as an object property only: still listed, without bytes.
        let bytes = match self.data.or(self.props.data) {
            Some(bytes) => bytes,
            None if embedded => &[],
            None => return None,
        };
        let name = [self.props.long_name, self.title, self.props.display_name]
            .into_iter()
            .flatten()
            .map(|n| n.trim().to_owned())
            .find(|n| !n.is_empty())
            .unwrap_or_default();
        Some(TnefFile { name, content_type: self.props.mime, content_id: self.props.content_id, embedded, bytes })
    }
}

/// The MAPI properties of an attachment (or, for `body`, of the message) that a desk uses.
#[derive(Default)]
struct Props<'a> {
    body: Option<String>,
    long_name: Option<String>,
    display_name: Option<String>,
    mime: Option<String>,
    content_id: Option<String>,
    method: Option<u32>,
    /// `PR_ATTACH_DATA_OBJ` as binary: the file's bytes when `attAttachData` is missing.
    data: Option<&'a [u8]>,
}

const PT_SHORT: u16 = 0x0002;
const PT_LONG: u16 = 0x0003;
const PT_FLOAT: u16 = 0x0004;
const PT_DOUBLE: u16 = 0x0005;
const PT_CURRENCY: u16 = 0x0006;
const PT_APPTIME: u16 = 0x0007;
const PT_ERROR: u16 = 0x000A;
const PT_BOOLEAN: u16 = 0x000B;
const PT_OBJECT: u16 = 0x000D;
const PT_I8: u16 = 0x0014;
const PT_STRING8: u16 = 0x001E;
const PT_UNICODE: u16 = 0x001F;
const PT_SYSTIME: u16 = 0x0040;
const PT_CLSID: u16 = 0x0048;
const PT_BINARY: u16 = 0x0102;
const MV_FLAG: u16 = 0x1000;

/// A walk over a MAPI property list (MS-OXTNEF 2.1.3.4): `count (u32)`, then per property its
/// type and id, a name if it is a named property, and its value(s), each padded to 4 bytes.
fn properties(data: &[u8], code_page: u32) -> Result<Props<'_>, TnefError> {
    let mut r = Reader(data);
    let count = r.u32()?.min(MAX_PROPERTIES);
    let mut props = Props::default();
    for _ in 0..count {
        let kind = r.u16()?;
        let id = r.u16()?;
        if id >= 0x8000 {
            r.take(16)?; // the property set's GUID
            if r.u32()? == 1 {
                let len = r.u32()? as usize;
                r.padded(len)?;
            } else {
                r.take(4)?;
            }
        }
        let multi = kind & MV_FLAG != 0;
        let base = kind & !MV_FLAG;
        let values = if multi || matches!(base, PT_STRING8 | PT_UNICODE | PT_BINARY | PT_OBJECT) { r.u32()? } else { 1 };
        for _ in 0..values.min(MAX_PROPERTIES) {
            let value: &[u8] = match base {
                PT_SHORT | PT_LONG | PT_FLOAT | PT_ERROR | PT_BOOLEAN => r.take(4)?,
                PT_DOUBLE | PT_CURRENCY | PT_APPTIME | PT_I8 | PT_SYSTIME => r.take(8)?,
                PT_CLSID => r.take(16)?,
                PT_STRING8 | PT_UNICODE | PT_BINARY | PT_OBJECT => {
                    let len = r.u32()? as usize;
                    r.padded(len)?
                }
                // A type this walk does not know has no known size: stop here.
                _ => return Err(TnefError::Truncated),
            };
            if multi {
                continue;
            }
            let text = || match base {
                PT_UNICODE => Some(decode_utf16(value)),
                PT_STRING8 => Some(decode_8bit(trim_nul(value), code_page)),
                _ => None,
            };
            match id {
                PR_BODY => props.body = text(),
                PR_ATTACH_LONG_FILENAME => props.long_name = text(),
                PR_DISPLAY_NAME => props.display_name = text(),
                PR_ATTACH_MIME_TAG => props.mime = text().map(|m| m.trim().to_ascii_lowercase()).filter(|m| m.contains('/')),
                PR_ATTACH_CONTENT_ID => props.content_id = text().map(|c| c.trim().trim_matches(['<', '>']).to_owned()).filter(|c| !c.is_empty()),
                PR_ATTACH_DATA_OBJ if base == PT_BINARY => props.data = Some(value),
                PR_ATTACH_METHOD if base == PT_LONG => props.method = Some(u32::from_le_bytes([value[0], value[1], value[2], value[3]])),
                _ => {}
            }
        }
    }
    Ok(props)
}

fn trim_nul(value: &[u8]) -> &[u8] {
    let end = value.iter().position(|b| *b == 0).unwrap_or(value.len());
    &value[..end]
}

fn decode_utf16(value: &[u8]) -> String {
    let units: Vec<u16> = value.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).take_while(|u| *u != 0).collect();
    String::from_utf16_lossy(&units)
}

/// An 8-bit string in the stream's OEM code page.
fn decode_8bit(value: &[u8], code_page: u32) -> String {
    if let Ok(text) = std::str::from_utf8(value) {
        return text.to_owned();
    }
    let charset = match code_page {
        65001 => "utf-8".to_owned(),
        20866 => "koi8-r".to_owned(),
        21866 => "koi8-u".to_owned(),
        932 => "shift_jis".to_owned(),
        936 => "gbk".to_owned(),
        949 => "euc-kr".to_owned(),
        950 => "big5".to_owned(),
        28591..=28605 => format!("iso-8859-{}", code_page - 28590),
        874 | 1250..=1258 => format!("windows-{code_page}"),
        _ => "windows-1252".to_owned(),
    };
    match charset_decoder(charset.as_bytes()) {
        Some(decode) => decode(value),
        None => String::from_utf8_lossy(value).into_owned(),
    }
}

/// Bounds-checked little-endian reads over a byte slice.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, len: usize) -> Result<&'a [u8], TnefError> {
        if self.0.len() < len {
            return Err(TnefError::Truncated);
        }
        let (head, rest) = self.0.split_at(len);
        self.0 = rest;
        Ok(head)
    }

    /// `len` bytes, then the padding to the next multiple of 4.
    fn padded(&mut self, len: usize) -> Result<&'a [u8], TnefError> {
        let value = self.take(len)?;
        self.take(len.next_multiple_of(4) - len)?;
        Ok(value)
    }

    fn u8(&mut self) -> Result<u8, TnefError> {
        Ok(self.take(1)?[0])
    }

    fn u16(&mut self) -> Result<u16, TnefError> {
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }

    fn u32(&mut self) -> Result<u32, TnefError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

#[cfg(test)]
pub(crate) mod tests;
