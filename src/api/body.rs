//! GraphQL types of a push's message body and offline-push options (API.md, Push): the
//! one-of input `MessageElementInput`, the union `MessageElement`, `OfflinePushInput` and
//! `OfflinePush`. Thin: they convert to and from `push::body`, which validates.
//!
//! An element type is one Rust struct that is both the output object (`TextElement`) and
//! its input (`TextElementInput`), so the two cannot drift apart.

use async_graphql::{Enum, InputObject, OneofObject, SimpleObject, Union};

use crate::push::body as model;

/// One element of a push's body: give exactly one field, such as `{text: {text: "hi"}}`.
#[derive(OneofObject)]
pub(crate) enum MessageElementInput {
    /// Plain text.
    Text(TextElement),
    /// App-defined data; a body holds at most one.
    Custom(CustomElement),
    /// An emoji or sticker.
    Face(FaceElement),
    /// A place.
    Location(LocationElement),
    /// A picture in up to three sizes.
    Image(ImageElement),
    /// A voice clip.
    Sound(SoundElement),
    /// A file.
    File(FileElement),
    /// A video with its thumbnail.
    Video(VideoElement),
}

/// One element of a push's body.
#[derive(Union)]
pub(crate) enum MessageElement {
    /// Plain text.
    Text(TextElement),
    /// App-defined data.
    Custom(CustomElement),
    /// An emoji or sticker.
    Face(FaceElement),
    /// A place.
    Location(LocationElement),
    /// A picture.
    Image(ImageElement),
    /// A voice clip.
    Sound(SoundElement),
    /// A file.
    File(FileElement),
    /// A video.
    Video(VideoElement),
}

/// Plain text (vendor `TIMTextElem`).
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "TextElementInput")]
pub(crate) struct TextElement {
    /// The text; not empty.
    text: String,
}

/// App-defined data (vendor `TIMCustomElem`).
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "CustomElementInput")]
pub(crate) struct CustomElement {
    /// The payload, opaque to Herald (often JSON); may be empty.
    data: String,
    /// Notification text. A body of only this element, without a desc here or in
    /// `offlinePush`, sends no notification.
    desc: Option<String>,
    /// Extra data passed through to the app.
    ext: Option<String>,
    /// Notification sound to play.
    sound: Option<String>,
}

/// An emoji or sticker (vendor `TIMFaceElem`).
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "FaceElementInput")]
pub(crate) struct FaceElement {
    /// The app's index of the face.
    index: u32,
    /// Extra data about the face.
    data: Option<String>,
}

/// A place (vendor `TIMLocationElem`).
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "LocationElementInput")]
pub(crate) struct LocationElement {
    /// Human description of the place.
    desc: Option<String>,
    /// Degrees, -90..90.
    latitude: f64,
    /// Degrees, -180..180.
    longitude: f64,
}

/// A picture in up to three sizes (vendor `TIMImageElem`).
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "ImageElementInput")]
pub(crate) struct ImageElement {
    /// The sender's key for the image.
    uuid: Option<String>,
    /// 1 JPG, 2 GIF, 3 PNG, 4 BMP, 255 other.
    format: u32,
    /// Its sizes: at least one, each type at most once.
    infos: Vec<ImageInfo>,
}

/// One size of an image.
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "ImageInfoInput")]
pub(crate) struct ImageInfo {
    /// 1 original, 2 large, 3 thumbnail.
    #[graphql(name = "type")]
    kind: u32,
    /// Bytes; 0 when unknown.
    #[graphql(default)]
    size: u64,
    /// Pixels; 0 when unknown.
    #[graphql(default)]
    width: u32,
    /// Pixels; 0 when unknown.
    #[graphql(default)]
    height: u32,
    /// Where to download it; not empty.
    url: String,
}

/// A voice clip (vendor `TIMSoundElem`).
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "SoundElementInput")]
pub(crate) struct SoundElement {
    /// Where to download it; not empty.
    url: String,
    /// The sender's key for the clip.
    uuid: Option<String>,
    /// Bytes; 0 when unknown.
    #[graphql(default)]
    size: u64,
    /// Duration in seconds; 0 when unknown.
    #[graphql(default)]
    seconds: u32,
    /// Always 2: download straight from `url`.
    #[graphql(default = 2)]
    download_flag: u32,
}

/// A file (vendor `TIMFileElem`).
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "FileElementInput")]
pub(crate) struct FileElement {
    /// Where to download it; not empty.
    url: String,
    /// The sender's key for the file.
    uuid: Option<String>,
    /// Bytes; 0 when unknown.
    #[graphql(default)]
    size: u64,
    /// The file name shown to the user.
    name: Option<String>,
    /// Always 2: download straight from `url`.
    #[graphql(default = 2)]
    download_flag: u32,
}

/// A video with its thumbnail (vendor `TIMVideoFileElem`).
#[derive(SimpleObject, InputObject)]
#[graphql(input_name = "VideoElementInput")]
pub(crate) struct VideoElement {
    /// Where to download the video; not empty.
    video_url: String,
    /// The sender's key for the video.
    video_uuid: Option<String>,
    /// Bytes; 0 when unknown.
    #[graphql(default)]
    video_size: u64,
    /// Duration in seconds; 0 when unknown.
    #[graphql(default)]
    video_seconds: u32,
    /// Container format, such as `mp4`.
    video_format: Option<String>,
    /// Always 2: download straight from `videoUrl`.
    #[graphql(default = 2)]
    video_download_flag: u32,
    /// Where to download the thumbnail; not empty.
    thumb_url: String,
    /// The sender's key for the thumbnail.
    thumb_uuid: Option<String>,
    /// Bytes; 0 when unknown.
    #[graphql(default)]
    thumb_size: u64,
    /// Pixels; 0 when unknown.
    #[graphql(default)]
    thumb_width: u32,
    /// Pixels; 0 when unknown.
    #[graphql(default)]
    thumb_height: u32,
    /// Image format, such as `JPG`.
    thumb_format: Option<String>,
    /// Always 2: download straight from `thumbUrl`.
    #[graphql(default = 2)]
    thumb_download_flag: u32,
}

/// How a push shows as a notification on devices that are not connected.
#[derive(InputObject)]
pub(crate) struct OfflinePushInput {
    /// Notification title for every platform (at most 1024 bytes).
    title: Option<String>,
    /// Notification text (at most 1024 bytes); without it, the text comes from the
    /// elements.
    desc: Option<String>,
    /// Data passed through to the app (at most 2048 bytes).
    ext: Option<String>,
    /// No notification at all; default false.
    disabled: Option<bool>,
    /// Options for Apple devices.
    apns: Option<ApnsInput>,
    /// Options for Android devices.
    android: Option<AndroidOptions>,
}

/// Options for Apple devices. Give at most one of `badge` and `badgeMode`; with neither,
/// the push counts toward the badge.
#[derive(InputObject)]
pub(crate) struct ApnsInput {
    /// Sound file to play.
    sound: Option<String>,
    /// Sets the badge to this number; 0 clears it.
    badge: Option<u32>,
    /// `COUNT` or `KEEP` (`SET` needs `badge`, which implies it).
    badge_mode: Option<BadgeMode>,
    /// Title; overrides `offlinePush.title` on Apple devices.
    title: Option<String>,
    /// Subtitle.
    subtitle: Option<String>,
    /// URL of an image to show (needs `mutableContent`).
    image: Option<String>,
    /// Lets the app's notification service extension change the notification; default
    /// false.
    mutable_content: Option<bool>,
}

/// Options for Android devices.
#[derive(SimpleObject, InputObject, Clone)]
#[graphql(input_name = "AndroidInput")]
pub(crate) struct AndroidOptions {
    /// Sound file to play.
    sound: Option<String>,
    /// Notification channel id.
    channel_id: Option<String>,
}

/// How a push shows as a notification on devices that are not connected.
#[derive(SimpleObject)]
pub(crate) struct OfflinePush {
    /// Notification title for every platform.
    title: Option<String>,
    /// Notification text; without it, the text comes from the elements.
    desc: Option<String>,
    /// Data passed through to the app.
    ext: Option<String>,
    /// No notification at all.
    disabled: bool,
    /// Options for Apple devices.
    apns: Option<ApnsOptions>,
    /// Options for Android devices.
    android: Option<AndroidOptions>,
}

/// Options for Apple devices.
#[derive(SimpleObject)]
pub(crate) struct ApnsOptions {
    /// Sound file to play.
    sound: Option<String>,
    /// The number the badge is set to, when `badgeMode` is `SET`.
    badge: Option<u32>,
    /// What the push does to the app icon's badge.
    badge_mode: BadgeMode,
    /// Title; overrides `title` on Apple devices.
    title: Option<String>,
    /// Subtitle.
    subtitle: Option<String>,
    /// URL of an image to show.
    image: Option<String>,
    /// Lets the app's notification service extension change the notification.
    mutable_content: bool,
}

/// What a push does to the app icon's badge on Apple devices.
#[derive(Enum, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BadgeMode {
    /// The push counts toward the badge: it shows the account's unread count.
    Count,
    /// The badge is left as it is.
    Keep,
    /// The badge is set to `badge`.
    Set,
}

/// An empty optional string means absent, as in the vendor form.
fn given(s: Option<String>) -> Option<String> {
    s.filter(|s| !s.is_empty())
}

impl From<MessageElementInput> for model::Element {
    fn from(input: MessageElementInput) -> Self {
        match input {
            MessageElementInput::Text(e) => model::Element::Text { text: e.text },
            MessageElementInput::Custom(e) => model::Element::Custom {
                data: e.data,
                desc: given(e.desc),
                ext: given(e.ext),
                sound: given(e.sound),
            },
            MessageElementInput::Face(e) => model::Element::Face {
                index: e.index,
                data: given(e.data),
            },
            MessageElementInput::Location(e) => model::Element::Location {
                desc: given(e.desc),
                latitude: e.latitude,
                longitude: e.longitude,
            },
            MessageElementInput::Image(e) => model::Element::Image {
                uuid: given(e.uuid),
                format: e.format,
                infos: e
                    .infos
                    .into_iter()
                    .map(|i| model::ImageInfo {
                        kind: i.kind,
                        size: i.size,
                        width: i.width,
                        height: i.height,
                        url: i.url,
                    })
                    .collect(),
            },
            MessageElementInput::Sound(e) => model::Element::Sound {
                url: e.url,
                uuid: given(e.uuid),
                size: e.size,
                seconds: e.seconds,
                download_flag: e.download_flag,
            },
            MessageElementInput::File(e) => model::Element::File {
                url: e.url,
                uuid: given(e.uuid),
                size: e.size,
                name: given(e.name),
                download_flag: e.download_flag,
            },
            MessageElementInput::Video(e) => model::Element::Video {
                video_url: e.video_url,
                video_uuid: given(e.video_uuid),
                video_size: e.video_size,
                video_seconds: e.video_seconds,
                video_format: given(e.video_format),
                video_download_flag: e.video_download_flag,
                thumb_url: e.thumb_url,
                thumb_uuid: given(e.thumb_uuid),
                thumb_size: e.thumb_size,
                thumb_width: e.thumb_width,
                thumb_height: e.thumb_height,
                thumb_format: given(e.thumb_format),
                thumb_download_flag: e.thumb_download_flag,
            },
        }
    }
}

impl From<&model::Element> for MessageElement {
    fn from(element: &model::Element) -> Self {
        match element.clone() {
            model::Element::Text { text } => MessageElement::Text(TextElement { text }),
            model::Element::Custom {
                data,
                desc,
                ext,
                sound,
            } => MessageElement::Custom(CustomElement {
                data,
                desc,
                ext,
                sound,
            }),
            model::Element::Face { index, data } => {
                MessageElement::Face(FaceElement { index, data })
            }
            model::Element::Location {
                desc,
                latitude,
                longitude,
            } => MessageElement::Location(LocationElement {
                desc,
                latitude,
                longitude,
            }),
            model::Element::Image {
                uuid,
                format,
                infos,
            } => MessageElement::Image(ImageElement {
                uuid,
                format,
                infos: infos
                    .into_iter()
                    .map(|i| ImageInfo {
                        kind: i.kind,
                        size: i.size,
                        width: i.width,
                        height: i.height,
                        url: i.url,
                    })
                    .collect(),
            }),
            model::Element::Sound {
                url,
                uuid,
                size,
                seconds,
                download_flag,
            } => MessageElement::Sound(SoundElement {
                url,
                uuid,
                size,
                seconds,
                download_flag,
            }),
            model::Element::File {
                url,
                uuid,
                size,
                name,
                download_flag,
            } => MessageElement::File(FileElement {
                url,
                uuid,
                size,
                name,
                download_flag,
            }),
            model::Element::Video {
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
            } => MessageElement::Video(VideoElement {
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
            }),
        }
    }
}

impl TryFrom<OfflinePushInput> for model::OfflinePush {
    type Error = model::BodyError;

    /// Fails (`INVALID_ARGUMENT` on `offlinePush.apns.badge`) when `badge` and
    /// `badgeMode` disagree; lengths are checked by `push::body::validate`.
    fn try_from(input: OfflinePushInput) -> Result<Self, Self::Error> {
        let apns = input
            .apns
            .map(|a| {
                let badge = match (a.badge, a.badge_mode) {
                    (Some(n), None | Some(BadgeMode::Set)) => model::Badge::Set(n),
                    (None, None | Some(BadgeMode::Count)) => model::Badge::Count,
                    (None, Some(BadgeMode::Keep)) => model::Badge::Keep,
                    (None, Some(BadgeMode::Set)) => {
                        return Err(bad_badge("badgeMode SET needs a badge number"));
                    }
                    (Some(_), Some(_)) => {
                        return Err(bad_badge("a badge number goes only with badgeMode SET"));
                    }
                };
                Ok(model::ApnsOptions {
                    sound: given(a.sound),
                    badge,
                    title: given(a.title),
                    subtitle: given(a.subtitle),
                    image: given(a.image),
                    mutable_content: a.mutable_content.unwrap_or(false),
                })
            })
            .transpose()?;
        Ok(model::OfflinePush {
            title: given(input.title),
            desc: given(input.desc),
            ext: given(input.ext),
            disabled: input.disabled.unwrap_or(false),
            apns,
            android: input.android.map(|a| model::AndroidOptions {
                sound: given(a.sound),
                channel_id: given(a.channel_id),
            }),
        })
    }
}

fn bad_badge(reason: &str) -> model::BodyError {
    model::BodyError::Invalid {
        field: "offlinePush.apns.badge".to_owned(),
        reason: reason.to_owned(),
    }
}

impl From<&model::OfflinePush> for OfflinePush {
    fn from(o: &model::OfflinePush) -> Self {
        OfflinePush {
            title: o.title.clone(),
            desc: o.desc.clone(),
            ext: o.ext.clone(),
            disabled: o.disabled,
            apns: o.apns.as_ref().map(|a| {
                let (badge, badge_mode) = match a.badge {
                    model::Badge::Count => (None, BadgeMode::Count),
                    model::Badge::Keep => (None, BadgeMode::Keep),
                    model::Badge::Set(n) => (Some(n), BadgeMode::Set),
                };
                ApnsOptions {
                    sound: a.sound.clone(),
                    badge,
                    badge_mode,
                    title: a.title.clone(),
                    subtitle: a.subtitle.clone(),
                    image: a.image.clone(),
                    mutable_content: a.mutable_content,
                }
            }),
            android: o.android.as_ref().map(|a| AndroidOptions {
                sound: a.sound.clone(),
                channel_id: a.channel_id.clone(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::pin::pin;
    use std::task::{Context, Poll, Waker};

    use async_graphql::{EmptyMutation, EmptySubscription, Object, Schema, SimpleObject};
    use serde_json::{Value, json};

    use super::*;
    use crate::error::{Classified, Classify};

    /// Echoes a body and offline push through the model, as the push resolvers do.
    struct Query;

    #[derive(SimpleObject)]
    struct Echo {
        body: Vec<MessageElement>,
        offline_push: Option<OfflinePush>,
        summary: Option<String>,
    }

    #[Object]
    impl Query {
        async fn echo(
            &self,
            body: Vec<MessageElementInput>,
            offline_push: Option<OfflinePushInput>,
        ) -> async_graphql::Result<Echo> {
            let body: Vec<model::Element> = body.into_iter().map(Into::into).collect();
            let offline = offline_push
                .map(model::OfflinePush::try_from)
                .transpose()
                .map_err(|e| async_graphql::Error::new(e.to_string()))?;
            model::validate(&body, offline.as_ref())
                .map_err(|e| async_graphql::Error::new(e.to_string()))?;
            Ok(Echo {
                body: body.iter().map(MessageElement::from).collect(),
                offline_push: offline.as_ref().map(OfflinePush::from),
                summary: model::notification_text(&body, offline.as_ref()),
            })
        }
    }

    /// Runs a future that never waits on I/O to completion on this thread.
    fn block_on<F: Future>(future: F) -> F::Output {
        let mut future = pin!(future);
        let mut cx = Context::from_waker(Waker::noop());
        loop {
            if let Poll::Ready(output) = future.as_mut().poll(&mut cx) {
                return output;
            }
        }
    }

    const FIELDS: &str = r#"
        body {
          __typename
          ... on TextElement { text }
          ... on CustomElement { data desc ext sound }
          ... on FaceElement { index data }
          ... on LocationElement { desc latitude longitude }
          ... on ImageElement { uuid format infos { type size width height url } }
          ... on SoundElement { url uuid size seconds downloadFlag }
          ... on FileElement { url uuid size name downloadFlag }
          ... on VideoElement { videoUrl videoUuid videoSize videoSeconds videoFormat
            videoDownloadFlag thumbUrl thumbUuid thumbSize thumbWidth thumbHeight thumbFormat
            thumbDownloadFlag }
        }
        offlinePush { title desc ext disabled
          apns { sound badge badgeMode title subtitle image mutableContent }
          android { sound channelId } }
        summary"#;

    /// Runs `echo(args)` and returns its data, or the first error's message.
    fn echo(args: &str) -> Result<Value, String> {
        let schema = Schema::new(Query, EmptyMutation, EmptySubscription);
        let query = format!("{{ echo({args}) {{ {FIELDS} }} }}");
        let response = block_on(schema.execute(query));
        match response.errors.first() {
            Some(e) => Err(e.message.clone()),
            None => Ok(response.data.into_json().unwrap()["echo"].clone()),
        }
    }

    #[test]
    fn the_api_example_body_is_valid() {
        let out =
            echo(r#"body: [{text: {text: "hi"}}, {custom: {data: "{}", desc: "d"}}]"#).unwrap();
        assert_eq!(
            out["body"],
            json!([
                {"__typename": "TextElement", "text": "hi"},
                {"__typename": "CustomElement", "data": "{}", "desc": "d", "ext": null, "sound": null},
            ])
        );
        assert_eq!(out["offlinePush"], Value::Null);
        assert_eq!(out["summary"], "hi d");
    }

    #[test]
    fn every_element_type_goes_in_and_comes_out() {
        let out = echo(
            r#"body: [
              {face: {index: 7, data: "smile"}},
              {location: {desc: "Shenzhen", latitude: 22.5, longitude: 114}},
              {image: {uuid: "i", format: 3, infos: [{type: 1, size: 10, width: 4, height: 2, url: "o"}, {type: 3, url: "t"}]}},
              {sound: {url: "s", seconds: 3}},
              {file: {url: "f", size: 5000000000, name: "a.pdf", downloadFlag: 2}},
              {video: {videoUrl: "v", videoFormat: "mp4", thumbUrl: "t", thumbWidth: 320}}
            ]"#,
        )
        .unwrap();
        assert_eq!(
            out["body"],
            json!([
                {"__typename": "FaceElement", "index": 7, "data": "smile"},
                {"__typename": "LocationElement", "desc": "Shenzhen", "latitude": 22.5, "longitude": 114.0},
                {"__typename": "ImageElement", "uuid": "i", "format": 3, "infos": [
                    {"type": 1, "size": 10, "width": 4, "height": 2, "url": "o"},
                    {"type": 3, "size": 0, "width": 0, "height": 0, "url": "t"}]},
                {"__typename": "SoundElement", "url": "s", "uuid": null, "size": 0, "seconds": 3, "downloadFlag": 2},
                {"__typename": "FileElement", "url": "f", "uuid": null, "size": 5_000_000_000_u64, "name": "a.pdf", "downloadFlag": 2},
                {"__typename": "VideoElement", "videoUrl": "v", "videoUuid": null, "videoSize": 0,
                 "videoSeconds": 0, "videoFormat": "mp4", "videoDownloadFlag": 2, "thumbUrl": "t",
                 "thumbUuid": null, "thumbSize": 0, "thumbWidth": 320, "thumbHeight": 0,
                 "thumbFormat": null, "thumbDownloadFlag": 2},
            ])
        );
        assert_eq!(
            out["summary"],
            "[face] [location] Shenzhen [image] [sound] [file] a.pdf [video]"
        );
    }

    #[test]
    fn an_element_gives_exactly_one_field() {
        let two = echo(r#"body: [{text: {text: "hi"}, face: {index: 1}}]"#).unwrap_err();
        assert!(two.contains("exactly one"), "{two}");
        let none = echo("body: [{}]").unwrap_err();
        assert!(none.contains("exactly one"), "{none}");
    }

    #[test]
    fn model_validation_applies_to_converted_input() {
        let e = echo(r#"body: [{sound: {url: "s", downloadFlag: 1}}]"#).unwrap_err();
        assert!(e.starts_with("body[0].sound.downloadFlag"), "{e}");
        let e = echo(r#"body: [{text: {text: "a"}}, {custom: {data: ""}}, {custom: {data: ""}}]"#)
            .unwrap_err();
        assert!(e.starts_with("body[2].custom"), "{e}");
    }

    #[test]
    fn empty_optional_strings_mean_absent() {
        let out = echo(
            r#"body: [{custom: {data: "x", desc: "", ext: ""}}],
               offlinePush: {title: "", desc: "", android: {sound: "", channelId: "c"}}"#,
        )
        .unwrap();
        assert_eq!(
            out["body"][0],
            json!({"__typename": "CustomElement", "data": "x", "desc": null, "ext": null, "sound": null})
        );
        assert_eq!(out["offlinePush"]["title"], Value::Null);
        assert_eq!(out["offlinePush"]["desc"], Value::Null);
        assert_eq!(
            out["offlinePush"]["android"],
            json!({"sound": null, "channelId": "c"})
        );
        assert_eq!(out["summary"], Value::Null);
    }

    #[test]
    fn offline_push_goes_in_and_comes_out() {
        let out = echo(
            r#"body: [{text: {text: "hi"}}],
               offlinePush: {title: "t", desc: "d", ext: "{}", disabled: false,
                 apns: {sound: "a.mp3", badge: 3, title: "at", subtitle: "st", image: "i",
                   mutableContent: true},
                 android: {sound: "b.mp3", channelId: "news"}}"#,
        )
        .unwrap();
        assert_eq!(
            out["offlinePush"],
            json!({"title": "t", "desc": "d", "ext": "{}", "disabled": false,
                "apns": {"sound": "a.mp3", "badge": 3, "badgeMode": "SET", "title": "at",
                    "subtitle": "st", "image": "i", "mutableContent": true},
                "android": {"sound": "b.mp3", "channelId": "news"}})
        );
        assert_eq!(out["summary"], "d");
    }

    #[test]
    fn badge_and_badge_mode_agree() {
        let badge = |apns: &str| {
            echo(&format!(
                r#"body: [{{text: {{text: "hi"}}}}], offlinePush: {{apns: {apns}}}"#
            ))
            .map(|out| out["offlinePush"]["apns"].clone())
        };
        let shown = |apns: &str| {
            let out = badge(apns).unwrap();
            (out["badge"].clone(), out["badgeMode"].clone())
        };
        assert_eq!(shown("{}"), (Value::Null, json!("COUNT")));
        assert_eq!(shown("{badgeMode: COUNT}"), (Value::Null, json!("COUNT")));
        assert_eq!(shown("{badgeMode: KEEP}"), (Value::Null, json!("KEEP")));
        assert_eq!(shown("{badge: 0}"), (json!(0), json!("SET")));
        assert_eq!(
            shown("{badge: 5, badgeMode: SET}"),
            (json!(5), json!("SET"))
        );
        for bad in [
            "{badgeMode: SET}",
            "{badge: 1, badgeMode: KEEP}",
            "{badge: 1, badgeMode: COUNT}",
        ] {
            let e = badge(bad).unwrap_err();
            assert!(e.starts_with("offlinePush.apns.badge: "), "{bad}: {e}");
        }
        let conflict = OfflinePushInput {
            title: None,
            desc: None,
            ext: None,
            disabled: None,
            apns: Some(ApnsInput {
                sound: None,
                badge: Some(1),
                badge_mode: Some(BadgeMode::Keep),
                title: None,
                subtitle: None,
                image: None,
                mutable_content: None,
            }),
            android: None,
        };
        assert_eq!(
            model::OfflinePush::try_from(conflict)
                .unwrap_err()
                .classify(),
            Classified::invalid("offlinePush.apns.badge")
        );
    }

    #[test]
    fn a_disabled_offline_push_has_no_notification() {
        let out = echo(r#"body: [{text: {text: "hi"}}], offlinePush: {disabled: true}"#).unwrap();
        assert_eq!(out["offlinePush"]["disabled"], true);
        assert_eq!(out["summary"], Value::Null);
    }

    #[test]
    fn the_schema_names_follow_the_api() {
        let sdl = Schema::new(Query, EmptyMutation, EmptySubscription).sdl();
        for expected in [
            "input MessageElementInput @oneOf {",
            "union MessageElement = TextElement | CustomElement | FaceElement | LocationElement | ImageElement | SoundElement | FileElement | VideoElement",
            "input TextElementInput {",
            "input ImageInfoInput {",
            "\ttype: Int!",
            "\tdownloadFlag: Int! = 2",
            "input OfflinePushInput {",
            "input ApnsInput {",
            "input AndroidInput {",
            "type OfflinePush {",
            "type ApnsOptions {",
            "type AndroidOptions {",
            "enum BadgeMode {",
        ] {
            assert!(sdl.contains(expected), "the SDL lacks {expected:?}:\n{sdl}");
        }
    }
}
