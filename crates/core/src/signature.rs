//! Twilio's webhook signature (`X-Twilio-Signature`), computed exactly like the official helper
//! libraries (twilio-python `RequestValidator`): HMAC-SHA1 over the full URL followed by each POST
//! parameter name and value in sorted order, keyed with the account's Auth Token, base64.

use base64::Engine;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// The signature Twilio sends for `url` and form `params`.
pub fn compute(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<(&str, &str)> = params
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    sorted.sort_unstable();
    sorted.dedup();
    let mut mac =
        Hmac::<Sha1>::new_from_slice(auth_token.as_bytes()).expect("HMAC accepts any key length");
    mac.update(url.as_bytes());
    for (k, v) in sorted {
        mac.update(k.as_bytes());
        mac.update(v.as_bytes());
    }
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Splits `scheme://authority/rest` into its parts, verbatim.
fn split(url: &str) -> Option<(&str, &str, &str)> {
    let (scheme, after) = url.split_once("://")?;
    let end = after.find(['/', '?', '#']).unwrap_or(after.len());
    Some((scheme, &after[..end], &after[end..]))
}

/// The URL with the scheme's default port removed, and with it added, when they differ from the
/// URL as given (Twilio's back end is inconsistent about which it signs).
fn port_variants(url: &str) -> Vec<String> {
    let Some((scheme, authority, rest)) = split(url) else {
        return vec![];
    };
    let default = match scheme.to_ascii_lowercase().as_str() {
        "https" | "wss" => "443",
        "http" | "ws" => "80",
        _ => return vec![],
    };
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (format!("{u}@"), h),
        None => (String::new(), authority),
    };
    // An IPv6 literal's colons are not a port separator.
    let port_sep = if hostport.starts_with('[') {
        hostport.find("]:").map(|i| i + 1)
    } else {
        hostport.rfind(':')
    };
    let host = port_sep.map_or(hostport, |i| &hostport[..i]);
    let without = format!("{scheme}://{userinfo}{host}{rest}");
    let with = format!("{scheme}://{userinfo}{host}:{default}{rest}");
    match port_sep.map(|i| &hostport[i + 1..]) {
        None => vec![with],
        Some(p) if p == default => vec![without],
        // A non-default port: Twilio also signs the URL without it.
        Some(_) => vec![without],
    }
}

fn equal(a: &str, b: &str) -> bool {
    a.as_bytes().ct_eq(b.as_bytes()).into()
}

/// Validates a form-encoded webhook: the URL as given, then its port variants.
pub fn validate_form(
    auth_token: &str,
    url: &str,
    params: &[(String, String)],
    signature: &str,
) -> bool {
    if equal(&compute(auth_token, url, params), signature) {
        return true;
    }
    port_variants(url)
        .iter()
        .any(|u| equal(&compute(auth_token, u, params), signature))
}

/// Validates a JSON-bodied webhook: Twilio adds `bodySHA256` (hex SHA-256 of the raw body) to the
/// query and signs the URL with no parameters.
pub fn validate_json(auth_token: &str, url: &str, raw_body: &[u8], signature: &str) -> bool {
    let Some(query) = url
        .split_once('?')
        .map(|(_, q)| q.split('#').next().unwrap_or(q))
    else {
        return false;
    };
    let Some(expected) = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("bodySHA256="))
    else {
        return false;
    };
    let actual = Sha256::digest(raw_body)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    validate_form(auth_token, url, &[], signature) && equal(&actual, expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p() -> Vec<(String, String)> {
        [
            ("CallSid", "CA1234567890ABCDE"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
            ("Caller", "+14158675309"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }
    const U: &str = "https://mycompany.com/myapp.php?foo=1&bar=2";

    #[test]
    fn official_vector_and_port_variants() {
        assert_eq!(compute("12345", U, &p()), "RSOYDt4T1cUTdK1PDd93/VVr8B8=");
        assert!(validate_form(
            "12345",
            U,
            &p(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        // signed with :443, received without
        assert!(validate_form(
            "12345",
            U,
            &p(),
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        ));
        // signed without port, received with :1234
        assert!(validate_form(
            "12345",
            "https://mycompany.com:1234/myapp.php?foo=1&bar=2",
            &p(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        assert!(validate_form(
            "12345",
            "http://mycompany.com/myapp.php?foo=1&bar=2",
            &p(),
            "0ZXoZLH/DfblKGATFgpif+LLRf4="
        ));
        assert!(!validate_form(
            "wrong",
            U,
            &p(),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
        let mut tampered = p();
        tampered[1].1 = "9999".into();
        assert!(!validate_form(
            "12345",
            U,
            &tampered,
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        ));
    }

    #[test]
    fn json_bodies_are_checked_by_hash() {
        let url = format!(
            "{U}&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
        );
        let body = br#"{"property": "value", "boolean": true}"#;
        assert!(validate_json(
            "12345",
            &url,
            body,
            "a9nBmqA0ju/hNViExpshrM61xv4="
        ));
        assert!(!validate_json(
            "12345",
            &url,
            br#"{"property": "value", "boolean": true} "#,
            "a9nBmqA0ju/hNViExpshrM61xv4="
        ));
    }

    #[test]
    fn userinfo_is_kept_when_adding_the_port() {
        assert_eq!(
            port_variants("https://user:pass@mycompany.com/myapp.php?foo=1&bar=2"),
            ["https://user:pass@mycompany.com:443/myapp.php?foo=1&bar=2"]
        );
        assert_eq!(port_variants("https://[::1]:443/x"), ["https://[::1]/x"]);
    }
}
