//! Every X-Twilio-Signature vector computed with twilio-python 9.13.0 (fixture copied from
//! shared/reference) checked against `signature::compute` and `validate_form`/`validate_json`.

use switchboard_core::signature::{compute, validate_form, validate_json};

const VECTORS: &str = include_str!("fixtures/twilio-signature-vectors.txt");

/// Python dict literal (`{'a': 'b', 'c': ['d']}`) → (name, value) pairs, repeated names for lists.
fn params(py: &str) -> Vec<(String, String)> {
    let json = py.replace('\'', "\"");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{py}: {e}"));
    let mut out = Vec::new();
    for (k, v) in v.as_object().unwrap() {
        match v {
            serde_json::Value::Array(a) => out.extend(
                a.iter()
                    .map(|x| (k.clone(), x.as_str().unwrap().to_string())),
            ),
            x => out.push((k.clone(), x.as_str().unwrap().to_string())),
        }
    }
    out
}

fn field<'a>(line: &'a str, name: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(name))
        .unwrap_or_else(|| panic!("{name} in {line}"))
}

#[test]
fn every_library_block_matches_twilio_python() {
    let lines: Vec<&str> = VECTORS.lines().collect();
    let mut checked = 0;
    for (i, l) in lines.iter().enumerate() {
        if !(l.starts_with("[OK ]") || l.starts_with("[BAD]")) {
            continue;
        }
        let url = lines[i + 1].trim().strip_prefix("url=").unwrap();
        let p = params(lines[i + 2].trim().strip_prefix("params=").unwrap());
        let sigs = lines[i + 3];
        let raw = field(sigs, "raw=");
        assert_eq!(compute("12345", url, &p), raw, "{l}");
        assert!(validate_form("12345", url, &p, raw), "{l}");
        if l.starts_with("[OK ]") {
            assert_eq!(field(sigs, "expected="), raw, "{l}");
        }
        assert!(
            !validate_form("1234", url, &p, raw),
            "wrong token must fail: {l}"
        );
        checked += 1;
    }
    assert_eq!(checked, 13, "all library vectors read");
}

#[test]
fn own_and_node_vectors() {
    let mut checked = 0;
    for l in VECTORS.lines() {
        if let Some(rest) = l.strip_prefix("node-spec token s3cr3t, no params: ") {
            let (url, sig) = rest.split_once(' ').unwrap();
            assert_eq!(compute("s3cr3t", url, &[]), sig);
            checked += 1;
        }
        if l.starts_with("OWN vector") {
            let url = l.split("url= ").nth(1).unwrap().split(' ').next().unwrap();
            let p = params(
                l.split("params= ")
                    .nth(1)
                    .unwrap()
                    .split(" sig=")
                    .next()
                    .unwrap(),
            );
            let sig = l.split("sig= ").nth(1).unwrap().split(' ').next().unwrap();
            assert_eq!(
                compute("0123456789abcdef0123456789abcdef", url, &p),
                sig,
                "{l}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 4);
}

#[test]
fn port_variants_validate_like_the_libraries() {
    let p = params(
        "{'CallSid': 'CA1234567890ABCDE', 'Digits': '1234', 'From': '+14158675309', 'To': '+18005551212', 'Caller': '+14158675309'}",
    );
    let u = "https://mycompany.com/myapp.php?foo=1&bar=2";
    assert!(validate_form(
        "12345",
        "https://mycompany.com:1234/myapp.php?foo=1&bar=2",
        &p,
        "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    ));
    assert!(validate_form(
        "12345",
        u,
        &p,
        "kvajT1Ptam85bY51eRf/AJRuM3w="
    ));
    assert!(validate_form(
        "12345",
        "http://mycompany.com/myapp.php?foo=1&bar=2",
        &p,
        "0ZXoZLH/DfblKGATFgpif+LLRf4="
    ));
    assert!(validate_form(
        "12345",
        "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
        &p,
        "Zmvh+3yNM1Phv2jhDCwEM3q5ebU="
    ));
    // JSON bodies: bodySHA256 in the URL, signed with no params, body hash must match.
    let json_url = "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620";
    let body = br#"{"property": "value", "boolean": true}"#;
    assert!(validate_json(
        "12345",
        json_url,
        body,
        "a9nBmqA0ju/hNViExpshrM61xv4="
    ));
    assert!(!validate_json(
        "12345",
        json_url,
        br#"{"property": "value", "boolean": true} "#,
        "a9nBmqA0ju/hNViExpshrM61xv4="
    ));
    // twilio-node passes the port-less URL and matches through the :443 variant.
    let empty = "https://mycompany.com/myapp.php?foo=1&bar=2&bodySHA256=44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a";
    assert!(validate_json(
        "12345",
        empty,
        b"{}",
        "Ldidvp12m26NI7eqEvxnEpkd9Hc="
    ));
    assert!(validate_json(
        "12345",
        empty,
        b"{}",
        "rw/jVviOgicj2+kHZULvebnA4ag="
    ));
}
