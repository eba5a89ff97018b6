//! Apple's (APNs) and Google's (FCM) push services, faked on 127.0.0.1 for Herald's tests
//! and benchmarks.
//!
//! We cannot reach the real services here, so each fake speaks their real protocol and checks
//! requests as they do: TLS with a test CA ([`tls`]), HTTP/2 only for APNs, provider and
//! OAuth2 JWTs verified with the public key, paths, headers and JSON, and their documented
//! error bodies. The plugins under test talk to them exactly as they would to Apple and Google;
//! only the base URL and the trusted CA differ.

pub mod apns;
pub mod fcm;
pub mod tls;
