//! The vendor's UserSig (TLSSigAPIv2, VENDOR_API.md §18): the credential in the `usersig`
//! query parameter of the REST API, signed with the app secret.
//!
//! A UserSig is the JSON object
//! `{"TLS.ver":"2.0","TLS.identifier":..,"TLS.sdkappid":..,"TLS.expire":..,"TLS.time":..,"TLS.sig":..}`
//! (plus `TLS.userbuf` when the signer gave one), zlib-compressed, base64-encoded and made
//! URL-safe (`+` -> `*`, `/` -> `-`, `=` -> `_`). `TLS.sig` is the base64 HMAC-SHA256, keyed
//! with the UTF-8 bytes of the app secret, of
//! `TLS.identifier:{id}\nTLS.sdkappid:{app}\nTLS.time:{time}\nTLS.expire:{expire}\n`
//! (then `TLS.userbuf:{userbuf}\n` when present). It is valid from its signing until
//! `time + expire`.

use std::io::{Read, Write};

use base64::Engine as _;
use base64::alphabet;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::{DecodePaddingMode, general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

/// The vendor generators' default lifetime: 180 days.
pub const DEFAULT_EXPIRE_SECONDS: u64 = 180 * 86_400;

/// The longest decompressed UserSig read: a real one is about 200 bytes; the cap keeps a
/// crafted one from inflating without bound.
const MAX_JSON_BYTES: u64 = 16 * 1024;

/// Base64 that takes the padding or leaves it out, as generators differ.
const LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// What a valid UserSig says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claims {
    /// The identity it was issued to (`TLS.identifier`).
    pub identifier: String,
    /// The app it was issued for (`TLS.sdkappid`).
    pub sdkappid: u64,
    /// Unix seconds of signing (`TLS.time`).
    pub time: u64,
    /// Lifetime in seconds from `time` (`TLS.expire`).
    pub expire: u64,
}

/// Why a UserSig was refused; the vendor's code for each is in the REST error table.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UserSigError {
    /// It does not decode to a UserSig: bad base64, zlib, JSON, or a field missing.
    #[error("the UserSig cannot be read: {0}")]
    Malformed(String),
    /// Its signature is not the app secret's (signed with another key, or altered).
    #[error("the UserSig is not signed with this app's secret key")]
    Forged,
    /// Its lifetime has run out.
    #[error("the UserSig expired at {expired_at} (Unix seconds); now is {now}")]
    Expired {
        /// `time + expire`.
        expired_at: u64,
        /// The server's time.
        now: u64,
    },
}

/// A UserSig for `identifier` of app `sdkappid`, signed at `time` for `expire` seconds, as
/// the vendor's generator makes it (the same JSON, zlib level 6; the deflate bytes may
/// differ from the generator's zlib, which no verifier depends on).
pub fn generate(secret: &str, sdkappid: u64, identifier: &str, time: u64, expire: u64) -> String {
    let sig = STANDARD.encode(mac(
        secret,
        &content(identifier, sdkappid, time, expire, None),
    ));
    let json = format!(
        "{{\"TLS.ver\": \"2.0\", \"TLS.identifier\": {}, \"TLS.sdkappid\": {sdkappid}, \
         \"TLS.expire\": {expire}, \"TLS.time\": {time}, \"TLS.sig\": \"{sig}\"}}",
        Value::from(identifier)
    );
    let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::new(6));
    zlib.write_all(json.as_bytes())
        .expect("writing to a Vec cannot fail");
    let compressed = zlib.finish().expect("writing to a Vec cannot fail");
    STANDARD
        .encode(compressed)
        .chars()
        .map(|c| match c {
            '+' => '*',
            '/' => '-',
            '=' => '_',
            c => c,
        })
        .collect()
}

/// Checks `usersig` against the app secret at time `now`: decodes it, recomputes the HMAC
/// and compares it in constant time, then checks `time + expire >= now`. The caller
/// compares the claims with the request (identifier, app id).
pub fn verify(secret: &str, usersig: &str, now: u64) -> Result<Claims, UserSigError> {
    let malformed = |what: &str| UserSigError::Malformed(what.to_owned());
    let unescaped: String = usersig
        .trim()
        .chars()
        .map(|c| match c {
            '*' => '+',
            '-' => '/',
            '_' => '=',
            c => c,
        })
        .collect();
    let compressed = LENIENT
        .decode(unescaped.trim_end_matches('='))
        .map_err(|_| malformed("not base64"))?;
    let mut json = Vec::new();
    flate2::read::ZlibDecoder::new(compressed.as_slice())
        .take(MAX_JSON_BYTES + 1)
        .read_to_end(&mut json)
        .map_err(|_| malformed("not zlib"))?;
    if json.len() as u64 > MAX_JSON_BYTES {
        return Err(malformed("too long"));
    }
    let v: Value = serde_json::from_slice(&json).map_err(|_| malformed("not JSON"))?;
    let text = |key: &str| {
        v.get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| UserSigError::Malformed(format!("no {key}")))
    };
    let number = |key: &str| {
        let n = match v.get(key) {
            Some(Value::Number(n)) => n.as_u64(),
            Some(Value::String(s)) => s.parse().ok(),
            _ => None,
        };
        n.ok_or_else(|| UserSigError::Malformed(format!("no {key}")))
    };
    let claims = Claims {
        identifier: text("TLS.identifier")?.to_owned(),
        sdkappid: number("TLS.sdkappid")?,
        time: number("TLS.time")?,
        expire: number("TLS.expire")?,
    };
    let userbuf = v.get("TLS.userbuf").and_then(Value::as_str);
    let sig = LENIENT
        .decode(text("TLS.sig")?.trim_end_matches('='))
        .map_err(|_| malformed("TLS.sig is not base64"))?;
    let signed = content(
        &claims.identifier,
        claims.sdkappid,
        claims.time,
        claims.expire,
        userbuf,
    );
    keyed(secret)
        .chain_update(signed.as_bytes())
        .verify_slice(&sig)
        .map_err(|_| UserSigError::Forged)?;
    let expired_at = claims.time.saturating_add(claims.expire);
    if expired_at < now {
        return Err(UserSigError::Expired { expired_at, now });
    }
    Ok(claims)
}

/// The text the HMAC signs.
fn content(
    identifier: &str,
    sdkappid: u64,
    time: u64,
    expire: u64,
    userbuf: Option<&str>,
) -> String {
    let mut s = format!(
        "TLS.identifier:{identifier}\nTLS.sdkappid:{sdkappid}\nTLS.time:{time}\nTLS.expire:{expire}\n"
    );
    if let Some(userbuf) = userbuf {
        s.push_str(&format!("TLS.userbuf:{userbuf}\n"));
    }
    s
}

fn keyed(secret: &str) -> Hmac<Sha256> {
    Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes a key of any length")
}

fn mac(secret: &str, content: &str) -> Vec<u8> {
    keyed(secret)
        .chain_update(content.as_bytes())
        .finalize()
        .into_bytes()
        .to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str = "5bd2850fff3ecb11d7c805251c51ee463a25727bddc2385f3fa8bfee1bb93b5e";
    const TIME: u64 = 1_764_300_000;
    const EXPIRE: u64 = 15_552_000;
    /// From the vendor's own generator (sdkappid 1400000000, identifier administrator).
    const VECTOR: &str = "eJyrVgrxCdYrSy1SslJQMtIzUNJRAItkpqTmlWSmZUIkElNyM-Myi0uKEkvyi2BKilOyEwsKMlOACgxNDKAAKpdaUZBZlAqSMTU1NUKIl2TmgkXNzUyMkdUXZ6aD7NH2disO9nfPzw13q9S2KC8LzXM0CInILwouLSzxC3NMcUkPt0wNMPXLMS22VaoFANN2Nkw_";

    #[test]
    fn the_vendor_vector_verifies_within_its_lifetime() {
        let claims = verify(KEY, VECTOR, TIME + 60).unwrap();
        assert_eq!(
            claims,
            Claims {
                identifier: "administrator".into(),
                sdkappid: 1_400_000_000,
                time: TIME,
                expire: EXPIRE,
            }
        );
        assert!(verify(KEY, VECTOR, TIME + EXPIRE).is_ok());
        assert_eq!(
            verify(KEY, VECTOR, TIME + EXPIRE + 1),
            Err(UserSigError::Expired {
                expired_at: TIME + EXPIRE,
                now: TIME + EXPIRE + 1
            })
        );
    }

    /// The JSON inside a UserSig.
    fn unpack(sig: &str) -> String {
        let b64 = sig.replace('*', "+").replace('-', "/").replace('_', "=");
        let mut json = String::new();
        flate2::read::ZlibDecoder::new(STANDARD.decode(b64).unwrap().as_slice())
            .read_to_string(&mut json)
            .unwrap();
        json
    }

    #[test]
    fn generate_makes_the_vendor_vectors_json() {
        // The deflate bytes may differ from the vendor's zlib; what they hold may not.
        let made = generate(KEY, 1_400_000_000, "administrator", TIME, EXPIRE);
        assert_eq!(unpack(&made), unpack(VECTOR));
        assert_eq!(
            verify(KEY, &made, TIME).unwrap().identifier,
            "administrator"
        );
    }

    /// Compresses and escapes a UserSig's JSON as the generator does.
    fn pack(json: &str) -> String {
        let mut zlib = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
        zlib.write_all(json.as_bytes()).unwrap();
        STANDARD
            .encode(zlib.finish().unwrap())
            .replace('+', "*")
            .replace('/', "-")
            .replace('=', "_")
    }

    #[test]
    fn another_key_or_an_altered_claim_is_forged() {
        let other = "0".repeat(64);
        assert_eq!(verify(&other, VECTOR, TIME), Err(UserSigError::Forged));
        // The same claims signed with another key.
        let made = generate(&other, 1_400_000_000, "administrator", TIME, EXPIRE);
        assert_eq!(verify(KEY, &made, TIME), Err(UserSigError::Forged));
        // A longer lifetime under the original signature.
        let tampered = pack(&format!(
            "{{\"TLS.ver\":\"2.0\",\"TLS.identifier\":\"administrator\",\"TLS.sdkappid\":1400000000,\
             \"TLS.expire\":{},\"TLS.time\":{TIME},\"TLS.sig\":\"+KFsSOGomWFy+8wvUnA0TXorSuqtNVAdDgW9eP5Nl5s=\"}}",
            EXPIRE * 2
        ));
        assert_eq!(verify(KEY, &tampered, TIME), Err(UserSigError::Forged));
    }

    #[test]
    fn garbage_is_malformed() {
        let no_sig = pack(
            r#"{"TLS.ver":"2.0","TLS.identifier":"a","TLS.sdkappid":1,"TLS.expire":1,"TLS.time":1}"#,
        );
        for bad in [
            "",
            "!!!",
            "eJyrVgrxCdYrSy1S",
            &STANDARD.encode("plain text"),
            &pack("[]"),
            &no_sig,
        ] {
            assert!(
                matches!(verify(KEY, bad, TIME), Err(UserSigError::Malformed(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_userbuf_is_signed_and_numbers_may_be_strings() {
        let signed = content("u", 1, TIME, 60, Some("YWJj"));
        let sig = STANDARD.encode(mac(KEY, &signed));
        let json = |userbuf: &str| {
            format!(
                r#"{{"TLS.ver":"2.0","TLS.identifier":"u","TLS.sdkappid":"1","TLS.expire":60,"TLS.time":"{TIME}","TLS.userbuf":"{userbuf}","TLS.sig":"{sig}"}}"#
            )
        };
        assert_eq!(verify(KEY, &pack(&json("YWJj")), TIME).unwrap().sdkappid, 1);
        assert_eq!(
            verify(KEY, &pack(&json("YWJk")), TIME),
            Err(UserSigError::Forged)
        );
    }
}
