//! The message body of a push and its offline-push (notification) options: the vendor's
//! eight element types, their validation, their vendor JSON form (`MsgBody` and
//! `OfflinePushInfo` of `im_push`, VENDOR_API.md §12 and §13) and the notification text a
//! transport shows.
//!
//! Pure data and functions, no I/O. A push is persisted with postcard, which is not
//! self-describing: every type here is a plain struct or an externally tagged enum (no
//! `untagged`, `flatten` or `skip_serializing_if`), and adding, removing or reordering a
//! field changes the stored format.
//!
//! The vendor readers are liberal like the vendor's real clients: a number may come as a
//! JSON string (`"Size":"1024"`), `null` means absent, an empty optional string means
//! absent, and unknown keys are ignored.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Classified, Classify};

/// The largest body: the length in bytes of the compact UTF-8 JSON of the whole vendor
/// `MsgBody` array ([`vendor_json_len`]), so a body is measured the same way whether it came
/// from GraphQL or from the vendor API, and a body Herald accepts is one it can hand on as
/// vendor JSON unchanged.
pub const MAX_BODY_BYTES: usize = 12 * 1024;

/// The largest notification text: `offlinePush.title`, `desc`, `apns.title` and
/// `apns.subtitle`, each. APNs caps a whole payload at 4 KB and the vendor asks to keep
/// `Desc` + `Ext` under about 3 KB; 1 KB of text is far more than a screen shows.
pub const MAX_OFFLINE_TEXT_BYTES: usize = 1024;

/// The largest `offlinePush.ext` (pass-through data): with a 1 KB `desc` this keeps
/// `Desc` + `Ext` within the vendor's 3 KB advice.
pub const MAX_OFFLINE_EXT_BYTES: usize = 2048;

/// The largest platform option: `apns.sound`, `apns.image` (a URL), `android.sound` and
/// `android.channelId`, each.
pub const MAX_OFFLINE_OPTION_BYTES: usize = 1024;

/// The only download flag the vendor accepts on sound, file and video elements (download
/// straight from the URL).
pub const DOWNLOAD_FLAG: u32 = 2;

/// The vendor's image formats: 1 JPG, 2 GIF, 3 PNG, 4 BMP, 255 other.
pub const IMAGE_FORMATS: [u32; 5] = [1, 2, 3, 4, 255];

/// One element of a message body: the vendor's eight element types (`TIMTextElem` ...).
/// Field names follow the GraphQL input (API.md, Push); [`Element::to_vendor`] gives the
/// vendor spelling.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Element {
    /// Plain text (`TIMTextElem`).
    Text {
        /// The text; not empty.
        text: String,
    },
    /// App-defined data (`TIMCustomElem`); a body holds at most one.
    Custom {
        /// The payload, opaque to Herald (often JSON); may be empty.
        data: String,
        /// Human text for the notification; a body made only of a custom element without
        /// a desc (here or in the offline push) sends no notification.
        desc: Option<String>,
        /// Extra data passed through to the app.
        ext: Option<String>,
        /// Notification sound to play.
        sound: Option<String>,
    },
    /// An emoji or sticker (`TIMFaceElem`), by app-defined index.
    Face {
        /// The app's index of the face.
        index: u32,
        /// Extra data about the face.
        data: Option<String>,
    },
    /// A place (`TIMLocationElem`).
    Location {
        /// Human description of the place.
        desc: Option<String>,
        /// Degrees, -90..=90.
        latitude: f64,
        /// Degrees, -180..=180.
        longitude: f64,
    },
    /// A picture in up to three sizes (`TIMImageElem`).
    Image {
        /// The sender's key for the image.
        uuid: Option<String>,
        /// One of [`IMAGE_FORMATS`]: 1 JPG, 2 GIF, 3 PNG, 4 BMP, 255 other.
        format: u32,
        /// Its sizes; at least one, each kind at most once.
        infos: Vec<ImageInfo>,
    },
    /// A voice clip (`TIMSoundElem`).
    Sound {
        /// Where to download it; not empty.
        url: String,
        /// The sender's key for the clip.
        uuid: Option<String>,
        /// Bytes; 0 when unknown.
        size: u64,
        /// Duration in seconds; 0 when unknown.
        seconds: u32,
        /// Must be [`DOWNLOAD_FLAG`].
        download_flag: u32,
    },
    /// A file (`TIMFileElem`).
    File {
        /// Where to download it; not empty.
        url: String,
        /// The sender's key for the file.
        uuid: Option<String>,
        /// Bytes; 0 when unknown.
        size: u64,
        /// The file name shown to the user.
        name: Option<String>,
        /// Must be [`DOWNLOAD_FLAG`].
        download_flag: u32,
    },
    /// A video with its thumbnail (`TIMVideoFileElem`).
    Video {
        /// Where to download the video; not empty.
        video_url: String,
        /// The sender's key for the video.
        video_uuid: Option<String>,
        /// Bytes; 0 when unknown.
        video_size: u64,
        /// Duration in seconds; 0 when unknown.
        video_seconds: u32,
        /// Container format, such as `mp4`.
        video_format: Option<String>,
        /// Must be [`DOWNLOAD_FLAG`].
        video_download_flag: u32,
        /// Where to download the thumbnail; not empty.
        thumb_url: String,
        /// The sender's key for the thumbnail.
        thumb_uuid: Option<String>,
        /// Bytes; 0 when unknown.
        thumb_size: u64,
        /// Pixels; 0 when unknown.
        thumb_width: u32,
        /// Pixels; 0 when unknown.
        thumb_height: u32,
        /// Image format, such as `JPG`.
        thumb_format: Option<String>,
        /// Must be [`DOWNLOAD_FLAG`].
        thumb_download_flag: u32,
    },
}

/// One size of an image (an entry of the vendor's `ImageInfoArray`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ImageInfo {
    /// The vendor's `Type`: 1 original, 2 large, 3 thumbnail (GraphQL `type`).
    pub kind: u32,
    /// Bytes; 0 when unknown.
    pub size: u64,
    /// Pixels; 0 when unknown.
    pub width: u32,
    /// Pixels; 0 when unknown.
    pub height: u32,
    /// Where to download it; not empty.
    pub url: String,
}

/// How a push shows as a notification on devices that are not connected (the vendor's
/// `OfflinePushInfo`). Absent, the elements' own text is shown ([`notification_text`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct OfflinePush {
    /// Notification title for every platform.
    pub title: Option<String>,
    /// Notification text; overrides the text made from the elements and a custom
    /// element's desc.
    pub desc: Option<String>,
    /// Data passed through to the app (a JSON string for Android vendor channels).
    pub ext: Option<String>,
    /// No notification at all (the vendor's `PushFlag` 1).
    pub disabled: bool,
    /// Options for Apple devices.
    pub apns: Option<ApnsOptions>,
    /// Options for Android devices.
    pub android: Option<AndroidOptions>,
}

/// Options for Apple devices (the vendor's `ApnsInfo`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ApnsOptions {
    /// Sound file to play.
    pub sound: Option<String>,
    /// What the push does to the app icon's badge.
    pub badge: Badge,
    /// Title; overrides [`OfflinePush::title`] on Apple devices.
    pub title: Option<String>,
    /// Subtitle.
    pub subtitle: Option<String>,
    /// URL of an image to show (needs `mutable_content` and a notification extension).
    pub image: Option<String>,
    /// Lets the app's notification service extension (iOS 10+) change the notification
    /// (the vendor's `MutableContent` 1).
    pub mutable_content: bool,
}

/// What a push does to the app icon's badge on Apple devices. The vendor has only
/// `BadgeMode` (0 counts, 1 does not); APNs itself carries an absolute number, which
/// `Set` gives directly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Badge {
    /// The push counts toward the badge: the transport shows the account's unread count
    /// (the vendor's `BadgeMode` 0, its default).
    #[default]
    Count,
    /// The badge is left as it is (the vendor's `BadgeMode` 1).
    Keep,
    /// The badge is set to this number; 0 clears it. Herald's own: the vendor form
    /// carries it as `BadgeMode` 0 plus a `Badge` key that the vendor does not define.
    Set(u32),
}

/// Options for Android devices (the vendor's `AndroidInfo`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct AndroidOptions {
    /// Sound file to play.
    pub sound: Option<String>,
    /// Notification channel (the vendor's `GoogleChannelID`).
    pub channel_id: Option<String>,
}

/// Why a body or its offline push was refused. Fields are named in GraphQL spelling, such
/// as `body[1].image.infos[0].url` or `offlinePush.apns.title`.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body has no element.
    #[error("body must hold at least one element")]
    Empty,
    /// A value is missing, empty or out of range.
    #[error("{field}: {reason}")]
    Invalid {
        /// The input field.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A second custom element.
    #[error("{field}: a body holds at most one custom element, and body[{first}] is one")]
    SecondCustom {
        /// The input field of the second custom element.
        field: String,
        /// The index of the first one.
        first: usize,
    },
    /// The body's vendor JSON is longer than [`MAX_BODY_BYTES`].
    #[error("body is {len} bytes as vendor JSON; the limit is {max} bytes", max = MAX_BODY_BYTES)]
    TooLarge {
        /// Its length in bytes.
        len: usize,
    },
    /// An offline-push string is longer than its limit.
    #[error("{field} is {len} bytes; the limit is {max} bytes")]
    TooLong {
        /// The input field.
        field: String,
        /// The limit's name (`extensions.limit`).
        limit: &'static str,
        /// Its length in bytes.
        len: usize,
        /// The limit in bytes.
        max: usize,
    },
}

impl Classify for BodyError {
    fn classify(&self) -> Classified {
        match self {
            BodyError::Empty => Classified::invalid("body"),
            BodyError::Invalid { field, .. } | BodyError::SecondCustom { field, .. } => {
                Classified::invalid(field.clone())
            }
            BodyError::TooLarge { .. } => Classified::limit("bodyBytes", "body"),
            BodyError::TooLong { field, limit, .. } => Classified::limit(*limit, field.clone()),
        }
    }
}

/// Why vendor JSON could not be read as a body or offline push; [`Self::vendor_code`] is
/// the vendor's error code for it (VENDOR_API.md §1, error table).
#[derive(Debug, thiserror::Error)]
pub enum VendorBodyError {
    /// `MsgBody` is not an array (vendor 90007).
    #[error("MsgBody is not an array")]
    NotArray,
    /// An element does not follow the message format: not an object, an unknown or
    /// missing `MsgType`, a missing `MsgContent`, or a field missing or of the wrong type
    /// (vendor 90002).
    #[error("MsgBody{}: {reason}", .index.map(|i| format!("[{i}]")).unwrap_or_default())]
    BadElement {
        /// The element's index, when read as part of a body.
        index: Option<usize>,
        /// What is wrong with it.
        reason: String,
    },
    /// `OfflinePushInfo` does not follow the message format (vendor 90010, "the JSON does
    /// not follow the message format").
    #[error("OfflinePushInfo: {reason}")]
    BadOfflinePush {
        /// What is wrong with it.
        reason: String,
    },
}

impl VendorBodyError {
    /// The vendor's error code: 90007 not an array, 90002 a malformed element, 90010 a
    /// malformed `OfflinePushInfo`.
    pub fn vendor_code(&self) -> u32 {
        match self {
            VendorBodyError::NotArray => 90007,
            VendorBodyError::BadElement { .. } => 90002,
            VendorBodyError::BadOfflinePush { .. } => 90010,
        }
    }
}

impl Classify for VendorBodyError {
    fn classify(&self) -> Classified {
        match self {
            VendorBodyError::NotArray => Classified::invalid("MsgBody"),
            VendorBodyError::BadElement { index: Some(i), .. } => {
                Classified::invalid(format!("MsgBody[{i}]"))
            }
            VendorBodyError::BadElement { index: None, .. } => Classified::invalid("MsgBody"),
            VendorBodyError::BadOfflinePush { .. } => Classified::invalid("OfflinePushInfo"),
        }
    }
}

/// Checks a body and its offline push, and returns the first problem found:
///
/// - the body holds at least one element (`body`) and at most one custom element (the
///   second is `body[i].custom`);
/// - text: `text.text` not empty;
/// - location: `latitude` in -90..=90 and `longitude` in -180..=180, finite;
/// - image: `format` one of 1, 2, 3, 4, 255; `infos` not empty; each info's `type` 1..=3
///   and not repeated, its `url` not empty;
/// - sound and file: `url` not empty, `downloadFlag` 2; video: `videoUrl` and `thumbUrl`
///   not empty, `videoDownloadFlag` and `thumbDownloadFlag` 2;
/// - custom and face: anything goes;
///
/// all of them `INVALID_ARGUMENT` naming the field, such as `body[1].image.infos[0].url`.
/// Then the whole body's vendor JSON ([`vendor_json_len`]) is at most [`MAX_BODY_BYTES`]
/// (`LIMIT_EXCEEDED`, limit `bodyBytes`, field `body`). Then, in the offline push,
/// `title`, `desc`, `apns.title` and `apns.subtitle` are at most
/// [`MAX_OFFLINE_TEXT_BYTES`] (limit `offlinePushTextBytes`), `ext` at most
/// [`MAX_OFFLINE_EXT_BYTES`] (limit `offlinePushExtBytes`), and `apns.sound`,
/// `apns.image`, `android.sound` and `android.channelId` at most
/// [`MAX_OFFLINE_OPTION_BYTES`] (limit `offlinePushOptionBytes`), each `LIMIT_EXCEEDED`
/// naming the field, such as `offlinePush.apns.title`.
pub fn validate(body: &[Element], offline: Option<&OfflinePush>) -> Result<(), BodyError> {
    if body.is_empty() {
        return Err(BodyError::Empty);
    }
    let mut custom = None;
    for (i, element) in body.iter().enumerate() {
        element.check(i)?;
        if matches!(element, Element::Custom { .. }) {
            if let Some(first) = custom {
                return Err(BodyError::SecondCustom {
                    field: format!("body[{i}].custom"),
                    first,
                });
            }
            custom = Some(i);
        }
    }
    let len = vendor_json_len(body);
    if len > MAX_BODY_BYTES {
        return Err(BodyError::TooLarge { len });
    }
    match offline {
        Some(offline) => offline.check(),
        None => Ok(()),
    }
}

/// The length in bytes of the body's vendor `MsgBody` array as compact UTF-8 JSON: what
/// [`MAX_BODY_BYTES`] bounds.
pub fn vendor_json_len(body: &[Element]) -> usize {
    body_to_vendor(body).to_string().len()
}

/// The body as the vendor's `MsgBody` array.
pub fn body_to_vendor(body: &[Element]) -> Value {
    Value::Array(body.iter().map(Element::to_vendor).collect())
}

/// Reads the vendor's `MsgBody`. It is not checked beyond its form: call [`validate`]
/// after, as for a body from GraphQL. An empty array reads as an empty body.
pub fn body_from_vendor(v: &Value) -> Result<Vec<Element>, VendorBodyError> {
    let elements = v.as_array().ok_or(VendorBodyError::NotArray)?;
    elements
        .iter()
        .enumerate()
        .map(|(i, e)| {
            read_element(e).map_err(|reason| VendorBodyError::BadElement {
                index: Some(i),
                reason,
            })
        })
        .collect()
}

/// The text a notification shows for a push, following the vendor's rule (VENDOR_API.md
/// §13): none when the offline push is disabled; else the offline push's desc when given;
/// else the elements' summaries joined by spaces, where a custom element gives its desc
/// or nothing. So a body of a single custom element without any desc has no notification
/// (`None`), and neither has a body whose text would be empty.
pub fn notification_text(body: &[Element], offline: Option<&OfflinePush>) -> Option<String> {
    if let Some(offline) = offline {
        if offline.disabled {
            return None;
        }
        if let Some(desc) = offline.desc.as_deref().filter(|d| !d.is_empty()) {
            return Some(desc.to_owned());
        }
    }
    let parts: Vec<String> = body
        .iter()
        .filter_map(|e| match e {
            Element::Custom { desc, .. } => desc.clone(),
            other => Some(other.summary()),
        })
        .filter(|s| !s.is_empty())
        .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// The vendor's `MsgType` of each element.
mod msg_type {
    pub(super) const TEXT: &str = "TIMTextElem";
    pub(super) const CUSTOM: &str = "TIMCustomElem";
    pub(super) const FACE: &str = "TIMFaceElem";
    pub(super) const LOCATION: &str = "TIMLocationElem";
    pub(super) const IMAGE: &str = "TIMImageElem";
    pub(super) const SOUND: &str = "TIMSoundElem";
    pub(super) const FILE: &str = "TIMFileElem";
    pub(super) const VIDEO: &str = "TIMVideoFileElem";
}

impl Element {
    /// The element in the vendor's form, such as
    /// `{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi"}}`. Absent optional fields are
    /// left out.
    pub fn to_vendor(&self) -> Value {
        let (msg_type, content) = match self {
            Element::Text { text } => (msg_type::TEXT, Obj::new().put("Text", text.as_str())),
            Element::Custom {
                data,
                desc,
                ext,
                sound,
            } => (
                msg_type::CUSTOM,
                Obj::new()
                    .put("Data", data.as_str())
                    .opt("Desc", desc)
                    .opt("Ext", ext)
                    .opt("Sound", sound),
            ),
            Element::Face { index, data } => (
                msg_type::FACE,
                Obj::new().put("Index", *index).opt("Data", data),
            ),
            Element::Location {
                desc,
                latitude,
                longitude,
            } => (
                msg_type::LOCATION,
                Obj::new()
                    .opt("Desc", desc)
                    .put("Latitude", *latitude)
                    .put("Longitude", *longitude),
            ),
            Element::Image {
                uuid,
                format,
                infos,
            } => (
                msg_type::IMAGE,
                Obj::new()
                    .opt("UUID", uuid)
                    .put("ImageFormat", *format)
                    .put(
                        "ImageInfoArray",
                        infos
                            .iter()
                            .map(|info| {
                                Obj::new()
                                    .put("Type", info.kind)
                                    .put("Size", info.size)
                                    .put("Width", info.width)
                                    .put("Height", info.height)
                                    .put("URL", info.url.as_str())
                                    .into_value()
                            })
                            .collect::<Vec<_>>(),
                    ),
            ),
            Element::Sound {
                url,
                uuid,
                size,
                seconds,
                download_flag,
            } => (
                msg_type::SOUND,
                Obj::new()
                    .put("Url", url.as_str())
                    .opt("UUID", uuid)
                    .put("Size", *size)
                    .put("Second", *seconds)
                    .put("Download_Flag", *download_flag),
            ),
            Element::File {
                url,
                uuid,
                size,
                name,
                download_flag,
            } => (
                msg_type::FILE,
                Obj::new()
                    .put("Url", url.as_str())
                    .opt("UUID", uuid)
                    .put("FileSize", *size)
                    .opt("FileName", name)
                    .put("Download_Flag", *download_flag),
            ),
            Element::Video {
                video_url,
                video_uuid,
                video_size,
                video_seconds,
                video_format,
                video_download_flag,
                thumb_url,
                thumb_uuid,
                thumb_size,
                thumb_width,
                thumb_height,
                thumb_format,
                thumb_download_flag,
            } => (
                msg_type::VIDEO,
                Obj::new()
                    .put("VideoUrl", video_url.as_str())
                    .opt("VideoUUID", video_uuid)
                    .put("VideoSize", *video_size)
                    .put("VideoSecond", *video_seconds)
                    .opt("VideoFormat", video_format)
                    .put("VideoDownloadFlag", *video_download_flag)
                    .put("ThumbUrl", thumb_url.as_str())
                    .opt("ThumbUUID", thumb_uuid)
                    .put("ThumbSize", *thumb_size)
                    .put("ThumbWidth", *thumb_width)
                    .put("ThumbHeight", *thumb_height)
                    .opt("ThumbFormat", thumb_format)
                    .put("ThumbDownloadFlag", *thumb_download_flag),
            ),
        };
        Obj::new()
            .put("MsgType", msg_type)
            .put("MsgContent", content.into_value())
            .into_value()
    }

    /// Reads one vendor element. Liberal: numbers may be strings, `null` and empty
    /// optional strings mean absent, unknown keys are ignored; a size, dimension or
    /// duration left out is 0 and a download flag left out is 2. Not checked beyond its
    /// form: see [`validate`].
    pub fn from_vendor(v: &Value) -> Result<Element, VendorBodyError> {
        read_element(v).map_err(|reason| VendorBodyError::BadElement {
            index: None,
            reason,
        })
    }

    /// A short human text for the element, for a notification or a list: the text of a
    /// text element, the desc of a custom element (else `[custom]`), else the kind in
    /// brackets, followed by the desc of a location or the name of a file when known.
    pub fn summary(&self) -> String {
        let labelled = |label: &str, detail: &Option<String>| match detail.as_deref() {
            Some(d) if !d.is_empty() => format!("{label} {d}"),
            _ => label.to_owned(),
        };
        match self {
            Element::Text { text } => text.clone(),
            Element::Custom { desc, .. } => match desc.as_deref() {
                Some(d) if !d.is_empty() => d.to_owned(),
                _ => "[custom]".to_owned(),
            },
            Element::Face { .. } => "[face]".to_owned(),
            Element::Location { desc, .. } => labelled("[location]", desc),
            Element::Image { .. } => "[image]".to_owned(),
            Element::Sound { .. } => "[sound]".to_owned(),
            Element::File { name, .. } => labelled("[file]", name),
            Element::Video { .. } => "[video]".to_owned(),
        }
    }

    /// Checks the element's own fields; `i` is its index in the body.
    fn check(&self, i: usize) -> Result<(), BodyError> {
        let field = |path: &str| format!("body[{i}].{path}");
        match self {
            Element::Text { text } => non_empty(text, || field("text.text")),
            Element::Custom { .. } | Element::Face { .. } => Ok(()),
            Element::Location {
                latitude,
                longitude,
                ..
            } => {
                within(*latitude, 90.0, || field("location.latitude"))?;
                within(*longitude, 180.0, || field("location.longitude"))
            }
            Element::Image { format, infos, .. } => {
                if !IMAGE_FORMATS.contains(format) {
                    return Err(invalid(
                        field("image.format"),
                        format!(
                            "{format} is not one of 1 (JPG), 2 (GIF), 3 (PNG), 4 (BMP), 255 (other)"
                        ),
                    ));
                }
                if infos.is_empty() {
                    return Err(invalid(field("image.infos"), "must hold at least one size"));
                }
                for (j, info) in infos.iter().enumerate() {
                    if !(1..=3).contains(&info.kind) {
                        return Err(invalid(
                            field(&format!("image.infos[{j}].type")),
                            format!(
                                "{} is not 1 (original), 2 (large) or 3 (thumbnail)",
                                info.kind
                            ),
                        ));
                    }
                    if infos[..j].iter().any(|earlier| earlier.kind == info.kind) {
                        return Err(invalid(
                            field(&format!("image.infos[{j}].type")),
                            format!("type {} is given twice", info.kind),
                        ));
                    }
                    non_empty(&info.url, || field(&format!("image.infos[{j}].url")))?;
                }
                Ok(())
            }
            Element::Sound {
                url, download_flag, ..
            } => {
                non_empty(url, || field("sound.url"))?;
                download(*download_flag, || field("sound.downloadFlag"))
            }
            Element::File {
                url, download_flag, ..
            } => {
                non_empty(url, || field("file.url"))?;
                download(*download_flag, || field("file.downloadFlag"))
            }
            Element::Video {
                video_url,
                video_download_flag,
                thumb_url,
                thumb_download_flag,
                ..
            } => {
                non_empty(video_url, || field("video.videoUrl"))?;
                download(*video_download_flag, || field("video.videoDownloadFlag"))?;
                non_empty(thumb_url, || field("video.thumbUrl"))?;
                download(*thumb_download_flag, || field("video.thumbDownloadFlag"))
            }
        }
    }
}

impl OfflinePush {
    /// The vendor's `OfflinePushInfo`: `PushFlag` (1 when disabled) always, `Title`,
    /// `Desc`, `Ext` when given, `AndroidInfo` {`Sound`, `GoogleChannelID`} and `ApnsInfo`
    /// {`Sound`, `BadgeMode`, `Title`, `SubTitle`, `Image`, `MutableContent`} when given;
    /// [`Badge::Set`] adds a `Badge` number to `ApnsInfo`.
    pub fn to_vendor(&self) -> Value {
        let mut info = Obj::new()
            .put("PushFlag", u32::from(self.disabled))
            .opt("Title", &self.title)
            .opt("Desc", &self.desc)
            .opt("Ext", &self.ext);
        if let Some(android) = &self.android {
            let android = Obj::new()
                .opt("Sound", &android.sound)
                .opt("GoogleChannelID", &android.channel_id);
            info = info.put("AndroidInfo", android.into_value());
        }
        if let Some(apns) = &self.apns {
            let mut obj = Obj::new()
                .opt("Sound", &apns.sound)
                .put("BadgeMode", u32::from(apns.badge == Badge::Keep))
                .opt("Title", &apns.title)
                .opt("SubTitle", &apns.subtitle)
                .opt("Image", &apns.image)
                .put("MutableContent", u32::from(apns.mutable_content));
            if let Badge::Set(n) = apns.badge {
                obj = obj.put("Badge", n);
            }
            info = info.put("ApnsInfo", obj.into_value());
        }
        info.into_value()
    }

    /// Reads the vendor's `OfflinePushInfo` (`null` reads as no options). `PushFlag` and
    /// `MutableContent` take 0 or 1 (or a boolean), `BadgeMode` 0 or 1; a `Badge` number
    /// (Herald's own) sets the badge. The other `AndroidInfo` keys (the Huawei, Xiaomi,
    /// OPPO and vivo channels) are ignored.
    pub fn from_vendor(v: &Value) -> Result<OfflinePush, VendorBodyError> {
        read_offline(v).map_err(|reason| VendorBodyError::BadOfflinePush { reason })
    }

    /// Checks the lengths of its strings (see [`validate`]).
    fn check(&self) -> Result<(), BodyError> {
        let text = ("offlinePushTextBytes", MAX_OFFLINE_TEXT_BYTES);
        let ext = ("offlinePushExtBytes", MAX_OFFLINE_EXT_BYTES);
        let option = ("offlinePushOptionBytes", MAX_OFFLINE_OPTION_BYTES);
        let mut fields = vec![
            ("offlinePush.title", &self.title, text),
            ("offlinePush.desc", &self.desc, text),
            ("offlinePush.ext", &self.ext, ext),
        ];
        if let Some(apns) = &self.apns {
            fields.extend([
                ("offlinePush.apns.sound", &apns.sound, option),
                ("offlinePush.apns.title", &apns.title, text),
                ("offlinePush.apns.subtitle", &apns.subtitle, text),
                ("offlinePush.apns.image", &apns.image, option),
            ]);
        }
        if let Some(android) = &self.android {
            fields.extend([
                ("offlinePush.android.sound", &android.sound, option),
                ("offlinePush.android.channelId", &android.channel_id, option),
            ]);
        }
        for (field, value, (limit, max)) in fields {
            let len = value.as_deref().map_or(0, str::len);
            if len > max {
                return Err(BodyError::TooLong {
                    field: field.to_owned(),
                    limit,
                    len,
                    max,
                });
            }
        }
        Ok(())
    }
}

fn invalid(field: String, reason: impl Into<String>) -> BodyError {
    BodyError::Invalid {
        field,
        reason: reason.into(),
    }
}

fn non_empty(value: &str, field: impl FnOnce() -> String) -> Result<(), BodyError> {
    if value.is_empty() {
        return Err(invalid(field(), "must not be empty"));
    }
    Ok(())
}

/// `value` is finite and within -`bound`..=`bound` degrees.
fn within(value: f64, bound: f64, field: impl FnOnce() -> String) -> Result<(), BodyError> {
    if !(-bound..=bound).contains(&value) {
        return Err(invalid(
            field(),
            format!("{value} is outside -{bound}..{bound}"),
        ));
    }
    Ok(())
}

fn download(flag: u32, field: impl FnOnce() -> String) -> Result<(), BodyError> {
    if flag != DOWNLOAD_FLAG {
        return Err(invalid(
            field(),
            format!("{flag} is not {DOWNLOAD_FLAG}, the only download flag there is"),
        ));
    }
    Ok(())
}

/// A JSON object under construction, for the vendor forms.
struct Obj(Map<String, Value>);

impl Obj {
    fn new() -> Self {
        Obj(Map::new())
    }

    fn put(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.insert(key.to_owned(), value.into());
        self
    }

    /// Puts `value` when there is one.
    fn opt(self, key: &str, value: &Option<String>) -> Self {
        match value {
            Some(v) => self.put(key, v.as_str()),
            None => self,
        }
    }

    fn into_value(self) -> Value {
        Value::Object(self.0)
    }
}

/// A vendor JSON object being read; `path` names it in error reasons (`MsgContent`,
/// `ApnsInfo` ...). Readers return the reason of a failure, which the caller wraps in the
/// right [`VendorBodyError`].
struct Fields<'a> {
    map: &'a Map<String, Value>,
    path: String,
}

impl<'a> Fields<'a> {
    fn new(v: &'a Value, path: String) -> Result<Self, String> {
        match v.as_object() {
            Some(map) => Ok(Fields { map, path }),
            None => Err(format!("{path} is not an object")),
        }
    }

    /// The value under `key`; `null` counts as absent.
    fn get(&self, key: &str) -> Option<&'a Value> {
        self.map.get(key).filter(|v| !v.is_null())
    }

    fn name(&self, key: &str) -> String {
        format!("{}.{key}", self.path)
    }

    fn missing(&self, key: &str) -> String {
        format!("{} is missing", self.name(key))
    }

    /// An object under `key`, if present.
    fn object(&self, key: &str) -> Result<Option<Fields<'a>>, String> {
        self.get(key)
            .map(|v| Fields::new(v, self.name(key)))
            .transpose()
    }

    /// A string; a number or boolean reads as its JSON text.
    fn string(&self, key: &str) -> Result<Option<String>, String> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(v.to_string())),
            Some(_) => Err(format!("{} is not a string", self.name(key))),
        }
    }

    fn required_string(&self, key: &str) -> Result<String, String> {
        self.string(key)?.ok_or_else(|| self.missing(key))
    }

    /// An optional string, where an empty one is absent too.
    fn optional_string(&self, key: &str) -> Result<Option<String>, String> {
        Ok(self.string(key)?.filter(|s| !s.is_empty()))
    }

    fn u64(&self, key: &str) -> Result<Option<u64>, String> {
        self.get(key)
            .map(|v| {
                as_u64(v)
                    .ok_or_else(|| format!("{} is not a non-negative whole number", self.name(key)))
            })
            .transpose()
    }

    fn u32(&self, key: &str) -> Result<Option<u32>, String> {
        self.u64(key)?
            .map(|n| u32::try_from(n).map_err(|_| format!("{} is too large", self.name(key))))
            .transpose()
    }

    fn f64(&self, key: &str) -> Result<f64, String> {
        let v = self.get(key).ok_or_else(|| self.missing(key))?;
        as_f64(v).ok_or_else(|| format!("{} is not a number", self.name(key)))
    }

    /// A 0/1 flag (a boolean also does); absent is `false`.
    fn flag(&self, key: &str) -> Result<bool, String> {
        if let Some(Value::Bool(b)) = self.get(key) {
            return Ok(*b);
        }
        match self.u64(key) {
            Ok(None | Some(0)) => Ok(false),
            Ok(Some(1)) => Ok(true),
            _ => Err(format!("{} is not 0 or 1", self.name(key))),
        }
    }
}

/// A whole number, from a JSON number (`3` or `3.0`) or a string holding one.
fn as_u64(v: &Value) -> Option<u64> {
    let whole = |f: f64| {
        (f.fract() == 0.0 && (0.0..18_446_744_073_709_551_616.0).contains(&f)).then_some(f as u64)
    };
    match v {
        Value::Number(n) => n.as_u64().or_else(|| n.as_f64().and_then(whole)),
        Value::String(s) => {
            let s = s.trim();
            s.parse().ok().or_else(|| s.parse().ok().and_then(whole))
        }
        _ => None,
    }
}

/// A finite number, from a JSON number or a string holding one.
fn as_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .filter(|f: &f64| f.is_finite())
}

fn read_element(v: &Value) -> Result<Element, String> {
    let element = Fields::new(v, "element".to_owned())?;
    let msg_type = element.required_string("MsgType")?;
    let c = match element.get("MsgContent") {
        Some(content) => Fields::new(content, "MsgContent".to_owned())?,
        None => return Err("MsgContent is missing".to_owned()),
    };
    let zero = |n: Option<u64>| n.unwrap_or(0);
    let flag = |n: Option<u32>| n.unwrap_or(DOWNLOAD_FLAG);
    Ok(match msg_type.as_str() {
        msg_type::TEXT => Element::Text {
            text: c.required_string("Text")?,
        },
        msg_type::CUSTOM => Element::Custom {
            data: c.string("Data")?.unwrap_or_default(),
            desc: c.optional_string("Desc")?,
            ext: c.optional_string("Ext")?,
            sound: c.optional_string("Sound")?,
        },
        msg_type::FACE => Element::Face {
            index: c.u32("Index")?.ok_or_else(|| c.missing("Index"))?,
            data: c.optional_string("Data")?,
        },
        msg_type::LOCATION => Element::Location {
            desc: c.optional_string("Desc")?,
            latitude: c.f64("Latitude")?,
            longitude: c.f64("Longitude")?,
        },
        msg_type::IMAGE => {
            let infos = match c.get("ImageInfoArray") {
                Some(Value::Array(infos)) => infos,
                Some(_) => return Err(format!("{} is not an array", c.name("ImageInfoArray"))),
                None => return Err(c.missing("ImageInfoArray")),
            };
            Element::Image {
                uuid: c.optional_string("UUID")?,
                format: c.u32("ImageFormat")?.unwrap_or(255),
                infos: infos
                    .iter()
                    .enumerate()
                    .map(|(j, info)| {
                        let info = Fields::new(info, format!("MsgContent.ImageInfoArray[{j}]"))?;
                        Ok(ImageInfo {
                            kind: info.u32("Type")?.ok_or_else(|| info.missing("Type"))?,
                            size: zero(info.u64("Size")?),
                            width: info.u32("Width")?.unwrap_or(0),
                            height: info.u32("Height")?.unwrap_or(0),
                            url: info.required_string("URL")?,
                        })
                    })
                    .collect::<Result<_, String>>()?,
            }
        }
        msg_type::SOUND => Element::Sound {
            url: c.required_string("Url")?,
            uuid: c.optional_string("UUID")?,
            size: zero(c.u64("Size")?),
            seconds: c.u32("Second")?.unwrap_or(0),
            download_flag: flag(c.u32("Download_Flag")?),
        },
        msg_type::FILE => Element::File {
            url: c.required_string("Url")?,
            uuid: c.optional_string("UUID")?,
            size: zero(c.u64("FileSize")?),
            name: c.optional_string("FileName")?,
            download_flag: flag(c.u32("Download_Flag")?),
        },
        msg_type::VIDEO => Element::Video {
            video_url: c.required_string("VideoUrl")?,
            video_uuid: c.optional_string("VideoUUID")?,
            video_size: zero(c.u64("VideoSize")?),
            video_seconds: c.u32("VideoSecond")?.unwrap_or(0),
            video_format: c.optional_string("VideoFormat")?,
            video_download_flag: flag(c.u32("VideoDownloadFlag")?),
            thumb_url: c.required_string("ThumbUrl")?,
            thumb_uuid: c.optional_string("ThumbUUID")?,
            thumb_size: zero(c.u64("ThumbSize")?),
            thumb_width: c.u32("ThumbWidth")?.unwrap_or(0),
            thumb_height: c.u32("ThumbHeight")?.unwrap_or(0),
            thumb_format: c.optional_string("ThumbFormat")?,
            thumb_download_flag: flag(c.u32("ThumbDownloadFlag")?),
        },
        other => {
            return Err(format!(
                "MsgType {other:?} is not one of the element types of im_push"
            ));
        }
    })
}

fn read_offline(v: &Value) -> Result<OfflinePush, String> {
    if v.is_null() {
        return Ok(OfflinePush::default());
    }
    let info = Fields::new(v, "OfflinePushInfo".to_owned())?;
    let android = info
        .object("AndroidInfo")?
        .map(|a| {
            Ok::<_, String>(AndroidOptions {
                sound: a.optional_string("Sound")?,
                channel_id: a.optional_string("GoogleChannelID")?,
            })
        })
        .transpose()?;
    let apns = info
        .object("ApnsInfo")?
        .map(|a| {
            let badge = match (a.u32("Badge")?, a.u32("BadgeMode")?) {
                (Some(n), _) => Badge::Set(n),
                (None, None | Some(0)) => Badge::Count,
                (None, Some(1)) => Badge::Keep,
                (None, Some(_)) => return Err(format!("{} is not 0 or 1", a.name("BadgeMode"))),
            };
            Ok(ApnsOptions {
                sound: a.optional_string("Sound")?,
                badge,
                title: a.optional_string("Title")?,
                subtitle: a.optional_string("SubTitle")?,
                image: a.optional_string("Image")?,
                mutable_content: a.flag("MutableContent")?,
            })
        })
        .transpose()?;
    Ok(OfflinePush {
        title: info.optional_string("Title")?,
        desc: info.optional_string("Desc")?,
        ext: info.optional_string("Ext")?,
        disabled: info.flag("PushFlag")?,
        apns,
        android,
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::error::Code;

    fn text(t: &str) -> Element {
        Element::Text { text: t.to_owned() }
    }

    fn custom(desc: Option<&str>) -> Element {
        Element::Custom {
            data: "{\"k\":1}".to_owned(),
            desc: desc.map(str::to_owned),
            ext: Some("ext".to_owned()),
            sound: Some("ding.aiff".to_owned()),
        }
    }

    fn face() -> Element {
        Element::Face {
            index: 7,
            data: Some("smile".to_owned()),
        }
    }

    fn location() -> Element {
        Element::Location {
            desc: Some("Shenzhen".to_owned()),
            latitude: 22.54,
            longitude: -114.05,
        }
    }

    fn image() -> Element {
        let info = |kind: u32, width: u32| ImageInfo {
            kind,
            size: u64::from(width) * 100,
            width,
            height: width / 2,
            url: format!("https://img.example/{kind}.jpg"),
        };
        Element::Image {
            uuid: Some("img-1".to_owned()),
            format: 1,
            infos: vec![info(1, 1024), info(2, 512), info(3, 128)],
        }
    }

    fn sound() -> Element {
        Element::Sound {
            url: "https://cdn.example/a.m4a".to_owned(),
            uuid: Some("snd-1".to_owned()),
            size: 4096,
            seconds: 3,
            download_flag: DOWNLOAD_FLAG,
        }
    }

    fn file() -> Element {
        Element::File {
            url: "https://cdn.example/report.pdf".to_owned(),
            uuid: None,
            size: 5_000_000_000,
            name: Some("report.pdf".to_owned()),
            download_flag: DOWNLOAD_FLAG,
        }
    }

    fn video() -> Element {
        Element::Video {
            video_url: "https://cdn.example/v.mp4".to_owned(),
            video_uuid: Some("vid-1".to_owned()),
            video_size: 123_456,
            video_seconds: 42,
            video_format: Some("mp4".to_owned()),
            video_download_flag: DOWNLOAD_FLAG,
            thumb_url: "https://cdn.example/v.jpg".to_owned(),
            thumb_uuid: Some("thumb-1".to_owned()),
            thumb_size: 2048,
            thumb_width: 320,
            thumb_height: 180,
            thumb_format: Some("JPG".to_owned()),
            thumb_download_flag: DOWNLOAD_FLAG,
        }
    }

    fn every_element() -> Vec<Element> {
        vec![
            text("hi"),
            custom(Some("d")),
            face(),
            location(),
            image(),
            sound(),
            file(),
            video(),
        ]
    }

    fn full_offline() -> OfflinePush {
        OfflinePush {
            title: Some("title".to_owned()),
            desc: Some("offline text".to_owned()),
            ext: Some("{\"a\":1}".to_owned()),
            disabled: false,
            apns: Some(ApnsOptions {
                sound: Some("apns.mp3".to_owned()),
                badge: Badge::Set(3),
                title: Some("apns title".to_owned()),
                subtitle: Some("apns subtitle".to_owned()),
                image: Some("https://img.example/a.png".to_owned()),
                mutable_content: true,
            }),
            android: Some(AndroidOptions {
                sound: Some("android.mp3".to_owned()),
                channel_id: Some("news".to_owned()),
            }),
        }
    }

    /// Rust -> vendor JSON -> Rust gives the same element, and returns the JSON.
    fn round_trip(element: &Element) -> Value {
        let v = element.to_vendor();
        assert_eq!(&Element::from_vendor(&v).unwrap(), element, "{v}");
        v
    }

    /// The code, field and limit of a validation failure.
    fn refused(body: &[Element], offline: Option<&OfflinePush>) -> Classified {
        validate(body, offline).unwrap_err().classify()
    }

    fn invalid_field(body: &[Element]) -> String {
        let c = refused(body, None);
        assert_eq!(c.code, Code::InvalidArgument, "{c:?}");
        c.field.unwrap()
    }

    fn element_error(v: Value) -> VendorBodyError {
        body_from_vendor(&json!([v])).unwrap_err()
    }

    #[test]
    fn text_round_trips_in_the_vendor_form() {
        assert_eq!(
            round_trip(&text("hi")),
            json!({"MsgType":"TIMTextElem","MsgContent":{"Text":"hi"}})
        );
    }

    #[test]
    fn custom_round_trips_and_leaves_out_absent_fields() {
        assert_eq!(
            round_trip(&custom(Some("d"))),
            json!({"MsgType":"TIMCustomElem","MsgContent":{
                "Data":"{\"k\":1}","Desc":"d","Ext":"ext","Sound":"ding.aiff"}})
        );
        let bare = Element::Custom {
            data: String::new(),
            desc: None,
            ext: None,
            sound: None,
        };
        assert_eq!(
            round_trip(&bare),
            json!({"MsgType":"TIMCustomElem","MsgContent":{"Data":""}})
        );
    }

    #[test]
    fn face_round_trips() {
        assert_eq!(
            round_trip(&face()),
            json!({"MsgType":"TIMFaceElem","MsgContent":{"Index":7,"Data":"smile"}})
        );
    }

    #[test]
    fn location_round_trips() {
        assert_eq!(
            round_trip(&location()),
            json!({"MsgType":"TIMLocationElem","MsgContent":{
                "Desc":"Shenzhen","Latitude":22.54,"Longitude":-114.05}})
        );
    }

    #[test]
    fn image_round_trips() {
        let v = round_trip(&image());
        assert_eq!(v["MsgType"], "TIMImageElem");
        assert_eq!(v["MsgContent"]["UUID"], "img-1");
        assert_eq!(v["MsgContent"]["ImageFormat"], 1);
        assert_eq!(
            v["MsgContent"]["ImageInfoArray"][2],
            json!({"Type":3,"Size":12800,"Width":128,"Height":64,"URL":"https://img.example/3.jpg"})
        );
    }

    #[test]
    fn sound_round_trips() {
        assert_eq!(
            round_trip(&sound()),
            json!({"MsgType":"TIMSoundElem","MsgContent":{"Url":"https://cdn.example/a.m4a",
                "UUID":"snd-1","Size":4096,"Second":3,"Download_Flag":2}})
        );
    }

    #[test]
    fn file_round_trips() {
        assert_eq!(
            round_trip(&file()),
            json!({"MsgType":"TIMFileElem","MsgContent":{"Url":"https://cdn.example/report.pdf",
                "FileSize":5_000_000_000_u64,"FileName":"report.pdf","Download_Flag":2}})
        );
    }

    #[test]
    fn video_round_trips() {
        assert_eq!(
            round_trip(&video()),
            json!({"MsgType":"TIMVideoFileElem","MsgContent":{
                "VideoUrl":"https://cdn.example/v.mp4","VideoUUID":"vid-1","VideoSize":123_456,
                "VideoSecond":42,"VideoFormat":"mp4","VideoDownloadFlag":2,
                "ThumbUrl":"https://cdn.example/v.jpg","ThumbUUID":"thumb-1","ThumbSize":2048,
                "ThumbWidth":320,"ThumbHeight":180,"ThumbFormat":"JPG","ThumbDownloadFlag":2}})
        );
    }

    #[test]
    fn a_whole_body_round_trips_through_the_vendor_form() {
        let body = every_element();
        assert_eq!(body_from_vendor(&body_to_vendor(&body)).unwrap(), body);
    }

    #[test]
    fn postcard_round_trips_every_element_type() {
        let body = every_element();
        let bytes = postcard::to_allocvec(&body).unwrap();
        assert_eq!(postcard::from_bytes::<Vec<Element>>(&bytes).unwrap(), body);
    }

    #[test]
    fn postcard_round_trips_offline_push() {
        let keep = OfflinePush {
            disabled: true,
            apns: Some(ApnsOptions {
                badge: Badge::Keep,
                ..ApnsOptions::default()
            }),
            ..OfflinePush::default()
        };
        for offline in [full_offline(), keep, OfflinePush::default()] {
            let bytes = postcard::to_allocvec(&offline).unwrap();
            assert_eq!(
                postcard::from_bytes::<OfflinePush>(&bytes).unwrap(),
                offline
            );
        }
    }

    #[test]
    fn the_request_examples_of_the_vendor_parse() {
        let examples = [
            r#"{"From_Account":"admin","MsgRandom":56512,"MsgLifeTime":120,
             "MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi, beauty"}}]}"#,
            r#"{"From_Account":"admin","MsgRandom":214,"MsgLifeTime":120,
             "Condition":{"TagsAnd":["Stock A","Stock B"]},
             "MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi"}}]}"#,
            r#"{"From_Account":"admin","MsgRandom":9657,
             "Condition":{"AttrsOr":{"sex":"M","city":"Shenzhen"}},
             "MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi"}}]}"#,
            r#"{"From_Account":"xiaoming","MsgRandom":3674128,"MsgLifeTime":120,
             "MsgBody":[{"MsgType":"TIMTextElem","MsgContent":{"Text":"hi"}}],
             "OfflinePushInfo":{"PushFlag":0,"Desc":"offline text","Ext":"passthrough",
               "AndroidInfo":{"Sound":"android.mp3"},
               "ApnsInfo":{"Sound":"apns.mp3","BadgeMode":1,"Title":"apns title",
                 "SubTitle":"apns subtitle","Image":"www.image.com"}}}"#,
        ];
        let texts = ["hi, beauty", "hi", "hi", "hi"];
        for (example, expected) in examples.iter().zip(texts) {
            let request: Value = serde_json::from_str(example).unwrap();
            let body = body_from_vendor(&request["MsgBody"]).unwrap();
            assert_eq!(body, vec![text(expected)]);
            validate(&body, None).unwrap();
        }
        let request: Value = serde_json::from_str(examples[3]).unwrap();
        let offline = OfflinePush::from_vendor(&request["OfflinePushInfo"]).unwrap();
        assert_eq!(
            offline,
            OfflinePush {
                title: None,
                desc: Some("offline text".to_owned()),
                ext: Some("passthrough".to_owned()),
                disabled: false,
                apns: Some(ApnsOptions {
                    sound: Some("apns.mp3".to_owned()),
                    badge: Badge::Keep,
                    title: Some("apns title".to_owned()),
                    subtitle: Some("apns subtitle".to_owned()),
                    image: Some("www.image.com".to_owned()),
                    mutable_content: false,
                }),
                android: Some(AndroidOptions {
                    sound: Some("android.mp3".to_owned()),
                    channel_id: None,
                }),
            }
        );
        validate(&[text("hi")], Some(&offline)).unwrap();
        assert_eq!(
            notification_text(&[text("hi")], Some(&offline)).as_deref(),
            Some("offline text")
        );
    }

    #[test]
    fn vendor_reading_is_liberal() {
        let v = json!([
            {"MsgType":"TIMSoundElem","MsgContent":{"Url":"u","UUID":null,"Size":"4096",
                "Second":" 3 ","Download_Flag":"2","Unknown":true}},
            {"MsgType":"TIMLocationElem","MsgContent":{"Desc":"","Latitude":"22.5",
                "Longitude":114}},
            {"MsgType":"TIMFaceElem","MsgContent":{"Index":3.0,"Data":null}},
            {"MsgType":"TIMCustomElem","MsgContent":{"Data":42,"Desc":"","Ext":null}},
            {"MsgType":"TIMFileElem","MsgContent":{"Url":"f"}},
            {"MsgType":"TIMImageElem","MsgContent":{"ImageInfoArray":[{"Type":"1","URL":"i"}]}},
        ]);
        assert_eq!(
            body_from_vendor(&v).unwrap(),
            vec![
                Element::Sound {
                    url: "u".to_owned(),
                    uuid: None,
                    size: 4096,
                    seconds: 3,
                    download_flag: 2,
                },
                Element::Location {
                    desc: None,
                    latitude: 22.5,
                    longitude: 114.0,
                },
                Element::Face {
                    index: 3,
                    data: None,
                },
                Element::Custom {
                    data: "42".to_owned(),
                    desc: None,
                    ext: None,
                    sound: None,
                },
                Element::File {
                    url: "f".to_owned(),
                    uuid: None,
                    size: 0,
                    name: None,
                    download_flag: DOWNLOAD_FLAG,
                },
                Element::Image {
                    uuid: None,
                    format: 255,
                    infos: vec![ImageInfo {
                        kind: 1,
                        size: 0,
                        width: 0,
                        height: 0,
                        url: "i".to_owned(),
                    }],
                },
            ]
        );
    }

    #[test]
    fn a_msg_body_that_is_not_an_array_is_90007() {
        for v in [json!({"Text": "hi"}), Value::Null, json!("hi"), json!(1)] {
            let e = body_from_vendor(&v).unwrap_err();
            assert!(matches!(e, VendorBodyError::NotArray), "{v}");
            assert_eq!(e.vendor_code(), 90007);
            assert_eq!(e.classify(), Classified::invalid("MsgBody"));
        }
    }

    #[test]
    fn a_malformed_element_is_90002_naming_its_index() {
        let cases = [
            (json!("hi"), "element is not an object"),
            (
                json!({"MsgContent":{"Text":"hi"}}),
                "element.MsgType is missing",
            ),
            (json!({"MsgType":"TIMTextElem"}), "MsgContent is missing"),
            (
                json!({"MsgType":"TIMTextElem","MsgContent":[]}),
                "MsgContent is not an object",
            ),
            (
                json!({"MsgType":"TIMGroupTipsElem","MsgContent":{}}),
                "\"TIMGroupTipsElem\"",
            ),
            (
                json!({"MsgType":"TIMTextElem","MsgContent":{}}),
                "MsgContent.Text is missing",
            ),
            (
                json!({"MsgType":"TIMTextElem","MsgContent":{"Text":{}}}),
                "not a string",
            ),
            (
                json!({"MsgType":"TIMFaceElem","MsgContent":{"Index":-1}}),
                "MsgContent.Index",
            ),
            (
                json!({"MsgType":"TIMFaceElem","MsgContent":{"Index":4_294_967_296_u64}}),
                "too large",
            ),
            (
                json!({"MsgType":"TIMFaceElem","MsgContent":{"Index":"x"}}),
                "whole number",
            ),
            (
                json!({"MsgType":"TIMFaceElem","MsgContent":{"Index":1.5}}),
                "whole number",
            ),
            (
                json!({"MsgType":"TIMLocationElem","MsgContent":{"Latitude":"north","Longitude":1}}),
                "not a number",
            ),
            (
                json!({"MsgType":"TIMLocationElem","MsgContent":{"Latitude":1}}),
                "MsgContent.Longitude is missing",
            ),
            (
                json!({"MsgType":"TIMSoundElem","MsgContent":{}}),
                "MsgContent.Url is missing",
            ),
            (
                json!({"MsgType":"TIMImageElem","MsgContent":{}}),
                "ImageInfoArray is missing",
            ),
            (
                json!({"MsgType":"TIMImageElem","MsgContent":{"ImageInfoArray":{}}}),
                "not an array",
            ),
            (
                json!({"MsgType":"TIMImageElem","MsgContent":{"ImageInfoArray":[{"Type":1}]}}),
                "MsgContent.ImageInfoArray[0].URL is missing",
            ),
            (
                json!({"MsgType":"TIMVideoFileElem","MsgContent":{"VideoUrl":"v"}}),
                "MsgContent.ThumbUrl is missing",
            ),
        ];
        for (v, reason) in cases {
            let e =
                body_from_vendor(&json!([{"MsgType":"TIMTextElem","MsgContent":{"Text":"ok"}}, v]))
                    .unwrap_err();
            assert_eq!(e.vendor_code(), 90002, "{e}");
            assert!(e.to_string().starts_with("MsgBody[1]: "), "{e}");
            assert!(e.to_string().contains(reason), "{e} lacks {reason}");
            assert_eq!(e.classify(), Classified::invalid("MsgBody[1]"));
        }
        let alone = Element::from_vendor(&json!({"MsgType":"TIMTextElem"})).unwrap_err();
        assert_eq!(alone.to_string(), "MsgBody: MsgContent is missing");
        assert_eq!(alone.vendor_code(), 90002);
        assert!(matches!(
            element_error(json!(null)),
            VendorBodyError::BadElement { index: Some(0), .. }
        ));
    }

    #[test]
    fn offline_push_round_trips_through_the_vendor_form() {
        let full = full_offline();
        let v = full.to_vendor();
        assert_eq!(
            v,
            json!({"PushFlag":0,"Title":"title","Desc":"offline text","Ext":"{\"a\":1}",
                "AndroidInfo":{"Sound":"android.mp3","GoogleChannelID":"news"},
                "ApnsInfo":{"Sound":"apns.mp3","BadgeMode":0,"Badge":3,"Title":"apns title",
                    "SubTitle":"apns subtitle","Image":"https://img.example/a.png",
                    "MutableContent":1}})
        );
        assert_eq!(OfflinePush::from_vendor(&v).unwrap(), full);

        let keep = OfflinePush {
            disabled: true,
            apns: Some(ApnsOptions {
                badge: Badge::Keep,
                ..ApnsOptions::default()
            }),
            android: Some(AndroidOptions::default()),
            ..OfflinePush::default()
        };
        let v = keep.to_vendor();
        assert_eq!(
            v,
            json!({"PushFlag":1,"AndroidInfo":{},"ApnsInfo":{"BadgeMode":1,"MutableContent":0}})
        );
        assert_eq!(OfflinePush::from_vendor(&v).unwrap(), keep);

        let none = OfflinePush::default();
        assert_eq!(none.to_vendor(), json!({"PushFlag":0}));
        assert_eq!(OfflinePush::from_vendor(&none.to_vendor()).unwrap(), none);
        assert_eq!(OfflinePush::from_vendor(&Value::Null).unwrap(), none);
    }

    #[test]
    fn offline_push_reading_is_liberal() {
        let v = json!({"PushFlag":"1","Title":"","Desc":null,"HuaWeiChannelID":"x",
            "AndroidInfo":{"GoogleChannelID":"c","XiaoMiChannelID":"m","VIVOClassification":1},
            "ApnsInfo":{"BadgeMode":"0","MutableContent":true,"Sound":""}});
        assert_eq!(
            OfflinePush::from_vendor(&v).unwrap(),
            OfflinePush {
                disabled: true,
                apns: Some(ApnsOptions {
                    mutable_content: true,
                    ..ApnsOptions::default()
                }),
                android: Some(AndroidOptions {
                    sound: None,
                    channel_id: Some("c".to_owned()),
                }),
                ..OfflinePush::default()
            }
        );
    }

    #[test]
    fn a_malformed_offline_push_is_90010() {
        let cases = [
            (json!([]), "OfflinePushInfo is not an object"),
            (
                json!({"PushFlag":2}),
                "OfflinePushInfo.PushFlag is not 0 or 1",
            ),
            (
                json!({"PushFlag":"yes"}),
                "OfflinePushInfo.PushFlag is not 0 or 1",
            ),
            (
                json!({"Title":["t"]}),
                "OfflinePushInfo.Title is not a string",
            ),
            (
                json!({"ApnsInfo":"x"}),
                "OfflinePushInfo.ApnsInfo is not an object",
            ),
            (
                json!({"AndroidInfo":1}),
                "OfflinePushInfo.AndroidInfo is not an object",
            ),
            (
                json!({"ApnsInfo":{"BadgeMode":2}}),
                "OfflinePushInfo.ApnsInfo.BadgeMode is not 0 or 1",
            ),
            (
                json!({"ApnsInfo":{"Badge":-1}}),
                "OfflinePushInfo.ApnsInfo.Badge",
            ),
            (
                json!({"ApnsInfo":{"MutableContent":7}}),
                "MutableContent is not 0 or 1",
            ),
        ];
        for (v, reason) in cases {
            let e = OfflinePush::from_vendor(&v).unwrap_err();
            assert_eq!(e.vendor_code(), 90010, "{e}");
            assert!(e.to_string().contains(reason), "{e} lacks {reason}");
            assert_eq!(e.classify(), Classified::invalid("OfflinePushInfo"));
        }
    }

    #[test]
    fn a_body_of_every_element_type_is_valid() {
        validate(&every_element(), Some(&full_offline())).unwrap();
        validate(&every_element(), None).unwrap();
    }

    #[test]
    fn an_empty_body_is_refused() {
        assert_eq!(refused(&[], None), Classified::invalid("body"));
    }

    #[test]
    fn a_second_custom_element_is_refused() {
        let body = [custom(None), text("hi"), custom(Some("d"))];
        assert_eq!(invalid_field(&body), "body[2].custom");
        let e = validate(&body, None).unwrap_err();
        assert!(e.to_string().contains("body[0] is one"), "{e}");
    }

    #[test]
    fn empty_text_is_refused() {
        assert_eq!(invalid_field(&[text("ok"), text("")]), "body[1].text.text");
    }

    #[test]
    fn a_location_off_the_globe_is_refused() {
        let at = |latitude: f64, longitude: f64| Element::Location {
            desc: None,
            latitude,
            longitude,
        };
        for (lat, lon) in [(90.0, 180.0), (-90.0, -180.0), (0.0, 0.0)] {
            validate(&[at(lat, lon)], None).unwrap();
        }
        for lat in [90.01, -90.01, f64::NAN, f64::INFINITY] {
            assert_eq!(invalid_field(&[at(lat, 0.0)]), "body[0].location.latitude");
        }
        for lon in [180.01, -180.01, f64::NAN, f64::NEG_INFINITY] {
            assert_eq!(invalid_field(&[at(0.0, lon)]), "body[0].location.longitude");
        }
    }

    #[test]
    fn a_bad_image_is_refused() {
        let with = |f: &dyn Fn(&mut u32, &mut Vec<ImageInfo>)| {
            let mut element = image();
            if let Element::Image { format, infos, .. } = &mut element {
                f(format, infos);
            }
            vec![text("x"), element]
        };
        for ok in IMAGE_FORMATS {
            validate(&with(&|format, _| *format = ok), None).unwrap();
        }
        for bad in [0, 5, 254, 256] {
            assert_eq!(
                invalid_field(&with(&|format, _| *format = bad)),
                "body[1].image.format"
            );
        }
        assert_eq!(
            invalid_field(&with(&|_, infos| infos.clear())),
            "body[1].image.infos"
        );
        for bad in [0, 4] {
            assert_eq!(
                invalid_field(&with(&|_, infos| infos[1].kind = bad)),
                "body[1].image.infos[1].type"
            );
        }
        assert_eq!(
            invalid_field(&with(&|_, infos| infos[2].kind = 1)),
            "body[1].image.infos[2].type"
        );
        assert_eq!(
            invalid_field(&with(&|_, infos| infos[0].url.clear())),
            "body[1].image.infos[0].url"
        );
        validate(&with(&|_, infos| infos.truncate(1)), None).unwrap();
    }

    #[test]
    fn sound_and_file_need_a_url_and_download_flag_2() {
        let sound_with = |url: &str, flag: u32| Element::Sound {
            url: url.to_owned(),
            uuid: None,
            size: 0,
            seconds: 0,
            download_flag: flag,
        };
        assert_eq!(invalid_field(&[sound_with("", 2)]), "body[0].sound.url");
        for flag in [0, 1, 3] {
            assert_eq!(
                invalid_field(&[sound_with("u", flag)]),
                "body[0].sound.downloadFlag"
            );
        }
        let file_with = |url: &str, flag: u32| Element::File {
            url: url.to_owned(),
            uuid: None,
            size: 0,
            name: None,
            download_flag: flag,
        };
        assert_eq!(invalid_field(&[file_with("", 2)]), "body[0].file.url");
        assert_eq!(
            invalid_field(&[file_with("u", 1)]),
            "body[0].file.downloadFlag"
        );
    }

    #[test]
    fn a_video_needs_both_urls_and_download_flags_2() {
        let cases = [
            ("VideoUrl", json!(""), "body[0].video.videoUrl"),
            (
                "VideoDownloadFlag",
                json!(0),
                "body[0].video.videoDownloadFlag",
            ),
            ("ThumbUrl", json!(""), "body[0].video.thumbUrl"),
            (
                "ThumbDownloadFlag",
                json!(1),
                "body[0].video.thumbDownloadFlag",
            ),
        ];
        for (key, value, field) in cases {
            let mut v = video().to_vendor();
            v["MsgContent"][key] = value;
            assert_eq!(invalid_field(&[Element::from_vendor(&v).unwrap()]), field);
        }
    }

    #[test]
    fn the_body_limit_is_12_kb_of_vendor_json() {
        let overhead = vendor_json_len(&[text("")]);
        assert_eq!(
            overhead,
            r#"[{"MsgContent":{"Text":""},"MsgType":"TIMTextElem"}]"#.len()
        );
        let exact = [text(&"a".repeat(MAX_BODY_BYTES - overhead))];
        assert_eq!(vendor_json_len(&exact), MAX_BODY_BYTES);
        validate(&exact, None).unwrap();

        let over = [text(&"a".repeat(MAX_BODY_BYTES - overhead + 1))];
        let e = validate(&over, None).unwrap_err();
        assert!(matches!(e, BodyError::TooLarge { len } if len == MAX_BODY_BYTES + 1));
        assert_eq!(e.classify(), Classified::limit("bodyBytes", "body"));
    }

    #[test]
    fn the_body_limit_counts_utf8_bytes_and_escapes() {
        let overhead = vendor_json_len(&[text("")]);
        assert_eq!(vendor_json_len(&[text("é")]), overhead + 2);
        assert_eq!(vendor_json_len(&[text("\"")]), overhead + 2);
        assert_eq!(
            vendor_json_len(&[text("a"), text("b")]),
            2 * overhead + 2 - 1
        );
    }

    #[test]
    fn offline_push_strings_are_bounded() {
        let long = |n: usize| Some("x".repeat(n));
        type Set = fn(&mut OfflinePush, Option<String>);
        let cases: [(Set, &str, &str, usize); 9] = [
            (
                |o, s| o.title = s,
                "offlinePush.title",
                "offlinePushTextBytes",
                MAX_OFFLINE_TEXT_BYTES,
            ),
            (
                |o, s| o.desc = s,
                "offlinePush.desc",
                "offlinePushTextBytes",
                MAX_OFFLINE_TEXT_BYTES,
            ),
            (
                |o, s| o.ext = s,
                "offlinePush.ext",
                "offlinePushExtBytes",
                MAX_OFFLINE_EXT_BYTES,
            ),
            (
                |o, s| o.apns.as_mut().unwrap().sound = s,
                "offlinePush.apns.sound",
                "offlinePushOptionBytes",
                MAX_OFFLINE_OPTION_BYTES,
            ),
            (
                |o, s| o.apns.as_mut().unwrap().title = s,
                "offlinePush.apns.title",
                "offlinePushTextBytes",
                MAX_OFFLINE_TEXT_BYTES,
            ),
            (
                |o, s| o.apns.as_mut().unwrap().subtitle = s,
                "offlinePush.apns.subtitle",
                "offlinePushTextBytes",
                MAX_OFFLINE_TEXT_BYTES,
            ),
            (
                |o, s| o.apns.as_mut().unwrap().image = s,
                "offlinePush.apns.image",
                "offlinePushOptionBytes",
                MAX_OFFLINE_OPTION_BYTES,
            ),
            (
                |o, s| o.android.as_mut().unwrap().sound = s,
                "offlinePush.android.sound",
                "offlinePushOptionBytes",
                MAX_OFFLINE_OPTION_BYTES,
            ),
            (
                |o, s| o.android.as_mut().unwrap().channel_id = s,
                "offlinePush.android.channelId",
                "offlinePushOptionBytes",
                MAX_OFFLINE_OPTION_BYTES,
            ),
        ];
        let body = [text("hi")];
        for (set, field, limit, max) in cases {
            let mut offline = full_offline();
            set(&mut offline, long(max));
            validate(&body, Some(&offline)).unwrap();
            set(&mut offline, long(max + 1));
            let e = validate(&body, Some(&offline)).unwrap_err();
            assert_eq!(e.classify(), Classified::limit(limit, field));
            assert_eq!(
                e.to_string(),
                format!("{field} is {} bytes; the limit is {max} bytes", max + 1)
            );
        }
    }

    #[test]
    fn body_errors_come_before_offline_push_errors() {
        let offline = OfflinePush {
            title: Some("x".repeat(MAX_OFFLINE_TEXT_BYTES + 1)),
            ..OfflinePush::default()
        };
        assert_eq!(
            refused(&[text("")], Some(&offline)).field.as_deref(),
            Some("body[0].text.text")
        );
    }

    #[test]
    fn summaries_are_short_human_texts() {
        let summaries: Vec<String> = every_element().iter().map(Element::summary).collect();
        assert_eq!(
            summaries,
            [
                "hi",
                "d",
                "[face]",
                "[location] Shenzhen",
                "[image]",
                "[sound]",
                "[file] report.pdf",
                "[video]"
            ]
        );
        assert_eq!(custom(None).summary(), "[custom]");
        assert_eq!(custom(Some("")).summary(), "[custom]");
        let nameless = Element::File {
            url: "u".to_owned(),
            uuid: None,
            size: 0,
            name: None,
            download_flag: 2,
        };
        assert_eq!(nameless.summary(), "[file]");
    }

    #[test]
    fn notification_text_follows_the_vendor_rule() {
        let desc = |d: &str| OfflinePush {
            desc: Some(d.to_owned()),
            ..OfflinePush::default()
        };
        let disabled = OfflinePush {
            disabled: true,
            ..desc("ignored")
        };
        let cases: [(Vec<Element>, Option<OfflinePush>, Option<&str>); 9] = [
            (vec![text("hi")], None, Some("hi")),
            (vec![text("hi"), image()], None, Some("hi [image]")),
            (vec![text("hi")], Some(desc("offline")), Some("offline")),
            (vec![custom(None)], None, None),
            (vec![custom(Some(""))], Some(desc("")), None),
            (vec![custom(Some("d"))], None, Some("d")),
            (
                vec![custom(Some("d"))],
                Some(desc("offline")),
                Some("offline"),
            ),
            (vec![custom(None), text("hi")], None, Some("hi")),
            (vec![text("hi")], Some(disabled), None),
        ];
        for (body, offline, expected) in cases {
            assert_eq!(
                notification_text(&body, offline.as_ref()).as_deref(),
                expected,
                "{body:?} {offline:?}"
            );
        }
    }
}
