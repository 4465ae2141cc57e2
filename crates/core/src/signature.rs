//! Twilio's webhook signature (`X-Twilio-Signature`), computed and checked like the official
//! helper libraries (twilio-python 9.13.0 `RequestValidator`; protocols.md B): base64 of
//! HMAC-SHA1, keyed with the account's Auth Token, over the full URL Twilio requested followed by
//! every POST parameter name and value in sorted order.
//!
//! Pure: the caller supplies the public URL exactly as Twilio requested it (behind a proxy, the
//! configured public base URL, never the local `Host`), the decoded form parameters, the raw body
//! and the header value. URLs are never re-encoded or normalised: Twilio signs the bytes it sent.

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha1::Sha1;
use sha2::{Digest as _, Sha256};
use subtle::{Choice, ConstantTimeEq as _};

/// The signature Twilio sends for a request to `url` with form `params` (an empty slice for GET
/// requests and JSON bodies, whose parameters are all in the URL).
pub fn compute(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut mac = Hmac::<Sha1>::new_from_slice(auth_token.as_bytes())
        .expect("HMAC accepts keys of any length");
    mac.update(signing_input(url, params).as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

/// The string Twilio signs: the URL, then `name + value` for each parameter name in sorted order
/// and each *distinct* value of that name in sorted order (twilio-python:
/// `sorted(set(params))`, `sorted(set(values))`), with no separators.
fn signing_input(url: &str, params: &[(String, String)]) -> String {
    let mut pairs: Vec<(&str, &str)> = params
        .iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect();
    // UTF-8 byte order is code point order, which is how Python sorts `str`; sorting the pairs
    // sorts by name, then by value.
    pairs.sort_unstable();
    pairs.dedup();
    let mut s = String::with_capacity(
        url.len() + pairs.iter().map(|(n, v)| n.len() + v.len()).sum::<usize>(),
    );
    s.push_str(url);
    for (name, value) in pairs {
        s.push_str(name);
        s.push_str(value);
    }
    s
}

/// Checks a form-encoded (or GET) webhook. Accepts the signature for the URL as given, and for
/// the URL with its port removed (any port) or, when it has none, with the scheme's default port
/// added (`:443` for https/wss, `:80` for http/ws), because Twilio's back end is inconsistent
/// about which of the two it signs (twilio-python `validate`: `remove_port`/`add_port`).
pub fn validate_form(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    signature: &str,
) -> bool {
    let candidates = std::iter::once(url.to_owned()).chain(port_variant(url));
    // Every candidate is computed and compared, so timing does not depend on which one matched.
    candidates
        .fold(Choice::from(0), |ok, candidate| {
            ok | ct_eq(&compute(auth_token, &candidate, params), signature)
        })
        .into()
}

/// Checks a webhook with a JSON body. Twilio adds `bodySHA256=<hex SHA-256 of the raw body>` to
/// the query and signs the full URL (that parameter included) with no POST parameters; the body
/// must hash to that value. A URL without a non-empty `bodySHA256` is rejected: Twilio always
/// sends one with JSON (error 57012), and without it the body would be unauthenticated.
pub fn validate_json(auth_token: &str, url: &str, raw_body: &[u8], signature: &str) -> bool {
    let Some(claimed) = body_sha256_param(url) else {
        return false;
    };
    let signed = Choice::from(u8::from(validate_form(auth_token, url, &[], signature)));
    (signed & ct_eq(&hex_sha256(raw_body), claimed)).into()
}

/// Constant-time string equality (length is not secret).
fn ct_eq(a: &str, b: &str) -> Choice {
    a.as_bytes().ct_eq(b.as_bytes())
}

fn hex_sha256(bytes: &[u8]) -> String {
    let mut hex = String::with_capacity(64);
    for b in Sha256::digest(bytes) {
        let _ = write!(hex, "{b:02x}");
    }
    hex
}

/// The first non-empty `bodySHA256` value in the query (Python's `parse_qs` drops blank values
/// and the validator takes the first).
fn body_sha256_param(url: &str) -> Option<&str> {
    let (_, query) = url.split_once('?')?;
    let query = query.split_once('#').map_or(query, |(q, _)| q);
    query
        .split('&')
        .filter_map(|pair| pair.strip_prefix("bodySHA256="))
        .find(|value| !value.is_empty())
}

/// The pieces of `scheme://[userinfo@]host[:port]rest` that port handling needs, borrowed
/// verbatim so that rebuilding the URL changes nothing but the port.
struct Authority<'a> {
    scheme: &'a str,
    /// Including the trailing `@`, or empty.
    userinfo: &'a str,
    host: &'a str,
    port: Option<&'a str>,
    /// Path, query and fragment, from the first `/`, `?` or `#` after the authority.
    rest: &'a str,
}

/// Splits a URL by hand (the workspace has no URL crate, and a parser would normalise). `None`
/// for anything that is not `scheme://authority…` with a numeric port, if any.
fn split(url: &str) -> Option<Authority<'_>> {
    let (scheme, after) = url.split_once("://")?;
    let (authority, rest) = after.split_at(after.find(['/', '?', '#']).unwrap_or(after.len()));
    // Userinfo may itself contain `:` (user:pass), so the host starts after the last `@`.
    let (userinfo, host_port) = authority.split_at(authority.rfind('@').map_or(0, |i| i + 1));
    let (host, port) = if host_port.starts_with('[') {
        // An IPv6 literal's colons are not the port separator.
        let (host, after_host) = host_port.split_at(host_port.find(']')? + 1);
        match after_host {
            "" => (host, None),
            p => (host, Some(p.strip_prefix(':')?)),
        }
    } else {
        match host_port.rsplit_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (host_port, None),
        }
    };
    if host.is_empty()
        || port.is_some_and(|p| p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()))
    {
        return None;
    }
    Some(Authority {
        scheme,
        userinfo,
        host,
        port,
        rest,
    })
}

/// The other spelling of `url`'s port: without it if it has one, with the scheme's default port
/// if it has none. twilio-python uses 80 for every scheme but https; here wss gets 443 too, since
/// the Media Streams upgrade is signed over its `wss://` URL (protocols.md B.4). Unlike
/// twilio-python (whose `remove_port` keeps only what precedes the first `:` of the netloc), the
/// userinfo is kept.
fn port_variant(url: &str) -> Option<String> {
    let Authority {
        scheme,
        userinfo,
        host,
        port,
        rest,
    } = split(url)?;
    match port {
        Some(_) => Some(format!("{scheme}://{userinfo}{host}{rest}")),
        None => {
            let default =
                if scheme.eq_ignore_ascii_case("https") || scheme.eq_ignore_ascii_case("wss") {
                    443
                } else if scheme.eq_ignore_ascii_case("http") || scheme.eq_ignore_ascii_case("ws") {
                    80
                } else {
                    return None;
                };
            Some(format!("{scheme}://{userinfo}{host}:{default}{rest}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOKEN: &str = "12345";
    /// protocols.md B.3 `U`.
    const U: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";
    const PROPERTY_BODY: &[u8] = br#"{"property": "value", "boolean": true}"#;
    const PROPERTY_HASH: &str = "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
    const EMPTY_OBJECT_HASH: &str =
        "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";

    fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect()
    }

    /// protocols.md B.3 `P`.
    fn p() -> Vec<(String, String)> {
        owned(&[
            ("CallSid", "CA1234567890ABCDE"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
            ("Caller", "+14158675309"),
        ])
    }

    fn voice_webhook() -> Vec<(String, String)> {
        owned(&[
            ("AccountSid", "AC00000000000000000000000000000000"),
            ("CallSid", "CA11111111111111111111111111111111"),
            ("CallStatus", "in-progress"),
            ("Direction", "outbound-api"),
            ("From", "+15005550006"),
            ("To", "+14155551212"),
            ("AnsweredBy", "human"),
            ("ApiVersion", "2010-04-01"),
        ])
    }

    fn status_callback() -> Vec<(String, String)> {
        owned(&[
            ("CallSid", "CA11111111111111111111111111111111"),
            ("CallStatus", "completed"),
            ("CallDuration", "42"),
            ("SipResponseCode", "200"),
            ("Timestamp", "Tue, 14 Apr 2026 09:26:42 +0000"),
            ("SequenceNumber", "3"),
            ("CallbackSource", "call-progress-events"),
            ("ErrorCode", ""),
        ])
    }

    const OWN_TOKEN: &str = "0123456789abcdef0123456789abcdef";

    /// (token, url, params, signature)
    type Vector = (&'static str, String, Vec<(String, String)>, &'static str);

    /// Every row of protocols.md B.3 and twilio-signature-vectors.txt: (token, url, params, what
    /// twilio-python computes). For the two [BAD] rows (#8, #12) this is the `raw`/`lib_compute`
    /// value; twilio-node's expected value is the signature of a re-spelt URL, also listed.
    fn vectors() -> Vec<Vector> {
        let json = |q: &str| format!("{U}&bodySHA256={q}");
        vec![
            // 1
            (TOKEN, U.into(), p(), "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
            // 2
            (
                TOKEN,
                "https://mycompany.com:443/myapp.php?foo=1&bar=2".into(),
                p(),
                "kvajT1Ptam85bY51eRf/AJRuM3w=",
            ),
            // 3
            (
                TOKEN,
                "http://mycompany.com:80/myapp.php?foo=1&bar=2".into(),
                p(),
                "0ZXoZLH/DfblKGATFgpif+LLRf4=",
            ),
            // 4
            (
                TOKEN,
                "http://mycompany.com:1234/myapp.php?foo=1&bar=2".into(),
                p(),
                "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=",
            ),
            // 5: repeated values are signed once each, sorted
            (
                TOKEN,
                U.into(),
                owned(&[
                    ("Sid", "CA123"),
                    ("SidAccount", "AC123"),
                    ("Digits", "5678"),
                    ("Digits", "1234"),
                    ("Digits", "1234"),
                ]),
                "IK+Dwps556ElfBT0I3Rgjkr1wJU=",
            ),
            // 6
            (
                TOKEN,
                json(PROPERTY_HASH),
                vec![],
                "a9nBmqA0ju/hNViExpshrM61xv4=",
            ),
            // 7
            (
                TOKEN,
                format!("https://mycompany.com/myapp.php?bodySHA256={PROPERTY_HASH}"),
                vec![],
                "y77kIzt2vzLz71DgmJGsen2scGs=",
            ),
            // 8 [BAD]: twilio-python's value for the URL as written...
            (
                TOKEN,
                json(EMPTY_OBJECT_HASH),
                vec![],
                "rw/jVviOgicj2+kHZULvebnA4ag=",
            ),
            // ...and twilio-node's expected value, which is the :443 spelling's signature.
            (
                TOKEN,
                format!(
                    "https://mycompany.com:443/myapp.php?foo=1&bar=2&bodySHA256={EMPTY_OBJECT_HASH}"
                ),
                vec![],
                "Ldidvp12m26NI7eqEvxnEpkd9Hc=",
            ),
            // 9
            (
                TOKEN,
                "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2".into(),
                p(),
                "CukzLTc1tT5dXEDIHm/tKBanW10=",
            ),
            // 10
            (
                TOKEN,
                "https://user@mycompany.com/myapp.php?foo=1&bar=2".into(),
                p(),
                "2YRLlVAflCqxaNicjMpJcSTgzSs=",
            ),
            // 11
            (
                TOKEN,
                "https://user:pass@mycompany.com:443/myapp.php?foo=1&bar=2".into(),
                p(),
                "ZQFR1PTIZXF2MXB8ZnKCvnnA+rI=",
            ),
            // 12 [BAD]: twilio-python signs the URL as given (unencoded `'`)...
            (
                TOKEN,
                format!("{U}&Body=It's+amazing"),
                p(),
                "dsq4Ehbj6cs+KdTkpF5sSSplOWw=",
            ),
            // ...twilio-node's expected value is for Node's `URL` spelling (`'` → `%27`)...
            (
                TOKEN,
                format!("{U}&Body=It%27s+amazing"),
                p(),
                "TfZzewPq8wqrGlMfyAud8+/IvJ0=",
            ),
            // ...and the other spellings node tries.
            (
                TOKEN,
                "https://mycompany.com:443/myapp.php?foo=1&bar=2&Body=It%27s+amazing".into(),
                p(),
                "OU0PwBcMvk9v0XjJUUQ652SK/T8=",
            ),
            (
                TOKEN,
                format!("{U}&Body=It%27s%20amazing"),
                p(),
                "KjO9y3ocKRL4bG0cJcdngFA5jZ0=",
            ),
            (
                TOKEN,
                "https://mycompany.com:443/myapp.php?foo=1&bar=2&Body=It%27s%20amazing".into(),
                p(),
                "q0aDPR0UTfr3PajHs12Wxw2J3PY=",
            ),
            // 13: array values in any order
            (
                TOKEN,
                U.into(),
                owned(&[
                    ("MessagingBinding.Address", "+1325xxxxxxx"),
                    ("MessagingBinding.Address", "+1415xxxxxxx"),
                ]),
                "83O6e2vORAoJHUNzJjDWN1jz+BA=",
            ),
            (
                TOKEN,
                U.into(),
                owned(&[
                    ("MessagingBinding.Address", "+1415xxxxxxx"),
                    ("MessagingBinding.Address", "+1325xxxxxxx"),
                ]),
                "83O6e2vORAoJHUNzJjDWN1jz+BA=",
            ),
            // twilio-node's suite, token s3cr3t, no params
            (
                "s3cr3t",
                "https://example.com/path?test=param".into(),
                vec![],
                "loLgTitFAoWx57yy5oEU4Hlddzw=",
            ),
            (
                "s3cr3t",
                "https://example.com:443/path?test=param".into(),
                vec![],
                "IdwMFypqvNxti3YgvWWmfcNL26M=",
            ),
            // own realistic vectors
            (
                OWN_TOKEN,
                "https://example.ngrok.app/twilio/voice?pendingCallId=abc123".into(),
                voice_webhook(),
                "ykZdAqoBX5p8+zdTOXpfndKfgn4=",
            ),
            (
                OWN_TOKEN,
                "https://example.ngrok.app/twilio/status".into(),
                status_callback(),
                "t9cSmTD47yRorPnri2V4GTXuhxg=",
            ),
        ]
    }

    #[test]
    fn every_vector_computes_and_validates_as_given() {
        for (token, url, params, expected) in vectors() {
            assert_eq!(compute(token, &url, &params), expected, "{url}");
            assert!(validate_form(token, &url, &params, expected), "{url}");
        }
    }

    #[test]
    fn signing_input_matches_the_signed_strings_in_the_vectors_file() {
        assert_eq!(
            signing_input(U, &p()),
            "https://mycompany.com/myapp.php?foo=1&bar=2CallSidCA1234567890ABCDECaller+14158675309Digits1234From+14158675309To+18005551212"
        );
        let multi = owned(&[
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
            ("Digits", "1234"),
        ]);
        assert_eq!(
            signing_input(U, &multi),
            "https://mycompany.com/myapp.php?foo=1&bar=2Digits1234Digits5678SidCA123SidAccountAC123"
        );
        // An empty value contributes just its name.
        assert_eq!(
            signing_input(
                "https://example.ngrok.app/twilio/status",
                &status_callback()
            ),
            "https://example.ngrok.app/twilio/statusCallDuration42CallSidCA11111111111111111111111111111111CallStatuscompletedCallbackSourcecall-progress-eventsErrorCodeSequenceNumber3SipResponseCode200TimestampTue, 14 Apr 2026 09:26:42 +0000"
        );
    }

    /// The `validate …` lines of the vectors file (twilio-python `RequestValidator.validate`).
    #[test]
    fn port_variants_validate_like_twilio_python() {
        // signed without a port, received on :1234 → port stripped
        assert!(validate_form(
            TOKEN,
            "https://mycompany.com:1234/myapp.php?foo=1&bar=2",
            &p(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        // signed with :443, received without → 443 added
        assert!(validate_form(
            TOKEN,
            U,
            &p(),
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        ));
        // signed with :80, received without → 80 added
        assert!(validate_form(
            TOKEN,
            "http://mycompany.com/myapp.php?foo=1&bar=2",
            &p(),
            "0ZXoZLH/DfblKGATFgpif+LLRf4="
        ));
        // signed without, received with the default port
        assert!(validate_form(
            TOKEN,
            "https://mycompany.com:443/myapp.php?foo=1&bar=2",
            &p(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        // node's `:443` pair
        assert!(validate_form(
            "s3cr3t",
            "https://example.com/path?test=param",
            &[],
            "IdwMFypqvNxti3YgvWWmfcNL26M="
        ));
        // A non-default port is not swapped for the default one.
        assert!(!validate_form(
            TOKEN,
            "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
            &p(),
            "0ZXoZLH/DfblKGATFgpif+LLRf4="
        ));
    }

    #[test]
    fn userinfo_survives_port_handling() {
        // twilio-python accepts this one too.
        assert!(validate_form(
            TOKEN,
            "https://user:pass@mycompany.com/myapp.php?foo=1&bar=2",
            &p(),
            "ZQFR1PTIZXF2MXB8ZnKCvnnA+rI="
        ));
        // twilio-python rejects this one (its remove_port yields `https://user/myapp.php…`);
        // keeping the userinfo accepts it.
        assert!(validate_form(
            TOKEN,
            "https://user:pass@mycompany.com:443/myapp.php?foo=1&bar=2",
            &p(),
            "CukzLTc1tT5dXEDIHm/tKBanW10="
        ));
        assert_eq!(
            port_variant("https://user:pass@mycompany.com/myapp.php?foo=1&bar=2").as_deref(),
            Some("https://user:pass@mycompany.com:443/myapp.php?foo=1&bar=2")
        );
        assert_eq!(
            port_variant("https://user:pass@mycompany.com:443/myapp.php?foo=1&bar=2").as_deref(),
            Some("https://user:pass@mycompany.com/myapp.php?foo=1&bar=2")
        );
    }

    #[test]
    fn port_variant_keeps_everything_else_verbatim() {
        let cases = [
            (
                "https://h/p?q=%27&r=It's+x#f",
                Some("https://h:443/p?q=%27&r=It's+x#f"),
            ),
            ("http://h:8080?x=1", Some("http://h?x=1")),
            ("HTTP://Mixed.Case/P", Some("HTTP://Mixed.Case:80/P")),
            ("https://h", Some("https://h:443")),
            ("https://h#frag", Some("https://h:443#frag")),
            ("wss://h/twilio/media", Some("wss://h:443/twilio/media")),
            ("ws://h/m", Some("ws://h:80/m")),
            ("https://[::1]:8443/x", Some("https://[::1]/x")),
            ("https://[::1]/x", Some("https://[::1]:443/x")),
            ("https://u@[::1]/x", Some("https://u@[::1]:443/x")),
            // `@` after the authority is not userinfo.
            (
                "https://h/p?email=a@b:c",
                Some("https://h:443/p?email=a@b:c"),
            ),
            // Not something a port can be added to: only the URL as given is tried.
            ("ftp://h/x", None),
            ("https://h:/x", None),
            ("https://h:abc/x", None),
            ("https://[::1/x", None),
            ("https://[::1]x/y", None),
            ("https:///x", None),
            ("mycompany.com/myapp.php", None),
        ];
        for (url, expected) in cases {
            assert_eq!(port_variant(url).as_deref(), expected, "{url}");
        }
    }

    #[test]
    fn json_bodies_are_checked_by_hash_and_signature() {
        let url = format!("{U}&bodySHA256={PROPERTY_HASH}");
        assert!(validate_json(
            TOKEN,
            &url,
            PROPERTY_BODY,
            "a9nBmqA0ju/hNViExpshrM61xv4="
        ));
        let only = format!("https://mycompany.com/myapp.php?bodySHA256={PROPERTY_HASH}");
        assert!(validate_json(
            TOKEN,
            &only,
            PROPERTY_BODY,
            "y77kIzt2vzLz71DgmJGsen2scGs="
        ));
        // #8: received without a port; twilio-python's value and twilio-node's (:443) both pass.
        let empty = format!("{U}&bodySHA256={EMPTY_OBJECT_HASH}");
        assert!(validate_json(
            TOKEN,
            &empty,
            b"{}",
            "rw/jVviOgicj2+kHZULvebnA4ag="
        ));
        assert!(validate_json(
            TOKEN,
            &empty,
            b"{}",
            "Ldidvp12m26NI7eqEvxnEpkd9Hc="
        ));
        assert_eq!(hex_sha256(PROPERTY_BODY), PROPERTY_HASH);
        assert_eq!(hex_sha256(b"{}"), EMPTY_OBJECT_HASH);
    }

    #[test]
    fn json_bodies_reject_tampering() {
        let url = format!("{U}&bodySHA256={PROPERTY_HASH}");
        let sig = "a9nBmqA0ju/hNViExpshrM61xv4=";
        // one extra space in the body
        assert!(!validate_json(
            TOKEN,
            &url,
            br#"{"property": "value", "boolean": true} "#,
            sig
        ));
        assert!(!validate_json("54321", &url, PROPERTY_BODY, sig));
        // A correctly signed URL whose hash is for another body.
        let empty = format!("{U}&bodySHA256={EMPTY_OBJECT_HASH}");
        assert!(!validate_json(
            TOKEN,
            &empty,
            PROPERTY_BODY,
            "rw/jVviOgicj2+kHZULvebnA4ag="
        ));
        // No (or an empty) bodySHA256: nothing binds the body to the signature.
        assert!(!validate_json(
            TOKEN,
            U,
            b"",
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        let blank = format!("{U}&bodySHA256=");
        assert!(!validate_json(
            TOKEN,
            &blank,
            b"",
            &compute(TOKEN, &blank, &[])
        ));
        // The hash is compared exactly, like twilio-python (Twilio sends lowercase hex).
        let upper = format!("{U}&bodySHA256={}", PROPERTY_HASH.to_uppercase());
        assert!(!validate_json(
            TOKEN,
            &upper,
            PROPERTY_BODY,
            &compute(TOKEN, &upper, &[])
        ));
    }

    #[test]
    fn body_sha256_is_read_from_the_query_only() {
        assert_eq!(
            body_sha256_param("https://h/p?a=1&bodySHA256=ab&bodySHA256=cd"),
            Some("ab")
        );
        assert_eq!(
            body_sha256_param("https://h/p?bodySHA256=&bodySHA256=cd"),
            Some("cd")
        );
        assert_eq!(body_sha256_param("https://h/p?x=1#bodySHA256=ab"), None);
        assert_eq!(body_sha256_param("https://h/p?xbodySHA256=ab"), None);
        assert_eq!(body_sha256_param("https://h/bodySHA256=ab"), None);
    }

    #[test]
    fn forms_reject_tampering() {
        let sig = "RSOYDt4T1cUTdK1PDd93/VVr8B8=";
        assert!(!validate_form("54321", U, &p(), sig));
        assert!(!validate_form("", U, &p(), sig));
        let mut changed = p();
        changed[1].1 = "9999".into();
        assert!(!validate_form(TOKEN, U, &changed, sig));
        let mut extra = p();
        extra.push(("Extra".into(), String::new()));
        assert!(!validate_form(TOKEN, U, &extra, sig));
        assert!(!validate_form(TOKEN, U, &p()[1..], sig));
        assert!(!validate_form(TOKEN, &format!("{U}&baz=3"), &p(), sig));
        assert!(!validate_form(
            TOKEN,
            "https://mycompany.com/myapp.php?foo=1&bar=3",
            &p(),
            sig
        ));
        assert!(!validate_form(
            TOKEN,
            "https://evil.com/myapp.php?foo=1&bar=2",
            &p(),
            sig
        ));
        // The URL is not normalised: an encoded spelling is a different URL.
        assert!(!validate_form(
            TOKEN,
            "https://mycompany.com/myapp.php?foo=1&bar=%32",
            &p(),
            sig
        ));
        // A parameter moved from the body into the query is a different request.
        assert!(!validate_form(
            TOKEN,
            &format!("{U}&Digits=1234"),
            &p()[..1],
            sig
        ));
        assert!(!validate_form(TOKEN, U, &p(), ""));
        assert!(!validate_form(TOKEN, U, &p(), &format!("{sig} ")));
        assert!(!validate_form(
            TOKEN,
            U,
            &p(),
            "rsoydt4t1cutdk1pdd93/vvr8b8="
        ));
    }

    #[test]
    fn node_reencoding_is_not_attempted() {
        // twilio-node also tries the query re-serialised (`'` ↔ `%27`); twilio-python does not,
        // and neither does this module: the URL must be the one Twilio requested, byte for byte.
        let given = format!("{U}&Body=It's+amazing");
        assert!(!validate_form(
            TOKEN,
            &given,
            &p(),
            "TfZzewPq8wqrGlMfyAud8+/IvJ0="
        ));
        let encoded = format!("{U}&Body=It%27s+amazing");
        assert!(validate_form(
            TOKEN,
            &encoded,
            &p(),
            "TfZzewPq8wqrGlMfyAud8+/IvJ0="
        ));
    }

    #[test]
    fn own_vectors_validate() {
        let voice = "https://example.ngrok.app/twilio/voice?pendingCallId=abc123";
        assert!(validate_form(
            OWN_TOKEN,
            voice,
            &voice_webhook(),
            "ykZdAqoBX5p8+zdTOXpfndKfgn4="
        ));
        let status = "https://example.ngrok.app/twilio/status";
        assert!(validate_form(
            OWN_TOKEN,
            status,
            &status_callback(),
            "t9cSmTD47yRorPnri2V4GTXuhxg="
        ));
        // Dropping the empty parameter changes the signature.
        let without_empty: Vec<_> = status_callback()
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
        assert!(!validate_form(
            OWN_TOKEN,
            status,
            &without_empty,
            "t9cSmTD47yRorPnri2V4GTXuhxg="
        ));
        assert!(!validate_form(
            TOKEN,
            voice,
            &voice_webhook(),
            "ykZdAqoBX5p8+zdTOXpfndKfgn4="
        ));
    }

    #[test]
    fn non_ascii_is_signed_as_utf8() {
        // Python sorts `str` by code point; é (U+00E9) sorts after z, as its UTF-8 bytes do.
        let params = owned(&[("Body", "é"), ("Body", "z"), ("Zé", "1"), ("Z", "2")]);
        assert_eq!(
            signing_input("https://h/", &params),
            "https://h/BodyzBodyéZ2Zé1"
        );
    }
}
