//! Every X-Twilio-Signature vector in `fixtures/twilio-signature-vectors.txt` (a copy of
//! shared/reference/twilio-signature-vectors.txt, recomputed there with twilio-python 9.13.0),
//! read from the file itself so the project stands alone and a changed fixture is noticed.

use std::collections::HashMap;

use switchboard_core::signature::{compute, validate_form, validate_json};

const VECTORS: &str = include_str!("fixtures/twilio-signature-vectors.txt");
/// Token of every row that names none.
const TOKEN: &str = "12345";
/// protocols.md B.3's `P`, which the file's trailing `url signature` lines were signed with.
const P: &str = "{'CallSid': 'CA1234567890ABCDE', 'Digits': '1234', 'From': '+14158675309', 'To': '+18005551212', 'Caller': '+14158675309'}";

/// A Python dict literal of strings or lists of strings → form pairs, one per list element.
fn params(py: &str) -> Vec<(String, String)> {
    assert!(
        !py.contains('"') && !py.contains('\\'),
        "quoting this parser does not handle: {py}"
    );
    let json: serde_json::Value =
        serde_json::from_str(&py.replace('\'', "\"")).unwrap_or_else(|e| panic!("{py}: {e}"));
    let string = |v: &serde_json::Value| v.as_str().expect("string value").to_owned();
    let mut pairs = Vec::new();
    for (name, value) in json.as_object().expect("dict") {
        match value {
            serde_json::Value::Array(values) => {
                pairs.extend(values.iter().map(|v| (name.clone(), string(v))))
            }
            v => pairs.push((name.clone(), string(v))),
        }
    }
    pairs
}

/// `key=value` from a line of space-separated fields.
fn field<'a>(line: &'a str, key: &str) -> &'a str {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        .unwrap_or_else(|| panic!("no {key}= in {line}"))
}

/// The text between the first `after` and the next `until` (or the end of the line).
fn between<'a>(line: &'a str, after: &str, until: &str) -> &'a str {
    let start = line
        .find(after)
        .unwrap_or_else(|| panic!("no {after} in {line}"))
        + after.len();
    let rest = &line[start..];
    rest.find(until).map_or(rest, |end| &rest[..end]).trim()
}

/// A Python `repr` of a string without escapes.
fn unrepr(s: &str) -> &str {
    let s = s.trim();
    s.strip_prefix('\'')
        .and_then(|s| s.strip_suffix('\''))
        .or_else(|| s.strip_prefix('"').and_then(|s| s.strip_suffix('"')))
        .filter(|s| !s.contains('\\'))
        .unwrap_or_else(|| panic!("not a plain repr: {s}"))
}

struct Block {
    ok: bool,
    title: String,
    url: String,
    params: Vec<(String, String)>,
    expected: String,
    raw: String,
    signed_string: String,
}

fn blocks() -> Vec<Block> {
    let lines: Vec<&str> = VECTORS.lines().collect();
    let mut blocks = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let ok = match line.get(..5) {
            Some("[OK ]") => true,
            Some("[BAD]") => false,
            _ => continue,
        };
        let sigs = lines[i + 3];
        blocks.push(Block {
            ok,
            title: line[5..].trim().to_owned(),
            url: field(lines[i + 1], "url").to_owned(),
            params: params(lines[i + 2].trim().strip_prefix("params=").unwrap()),
            expected: field(sigs, "expected").to_owned(),
            raw: field(sigs, "raw").to_owned(),
            signed_string: unrepr(lines[i + 4].trim().strip_prefix("signed_string=").unwrap())
                .to_owned(),
        });
    }
    blocks
}

/// Body by its hex SHA-256, from the file's `sha256('…') = hex` lines.
fn bodies() -> HashMap<String, String> {
    VECTORS
        .lines()
        .filter_map(|l| l.strip_prefix("sha256("))
        .map(|l| {
            let (body, hash) = l.rsplit_once(") = ").unwrap();
            (hash.trim().to_owned(), unrepr(body).to_owned())
        })
        .collect()
}

#[test]
fn ok_rows_match_expected_and_bad_rows_match_twilio_python() {
    let blocks = blocks();
    assert_eq!(blocks.len(), 13, "all library rows read");
    assert_eq!(blocks.iter().filter(|b| !b.ok).count(), 2);
    for b in &blocks {
        let got = compute(TOKEN, &b.url, &b.params);
        // `raw` is twilio-python's value (a plain HMAC over the URL as written).
        assert_eq!(got, b.raw, "{}", b.title);
        if b.ok {
            assert_eq!(got, b.expected, "{}", b.title);
        } else {
            // twilio-node's expected value only matches a re-spelt URL, which the file lists
            // among its trailing `url signature` lines.
            assert_ne!(got, b.expected, "{}", b.title);
            assert!(
                trailing_lines().any(|(_, sig)| sig == b.expected),
                "{}: no re-spelt URL signs to {}",
                b.title,
                b.expected
            );
        }
        assert!(
            validate_form(TOKEN, &b.url, &b.params, &b.raw),
            "{}",
            b.title
        );
        assert!(
            !validate_form("1234", &b.url, &b.params, &b.raw),
            "{}",
            b.title
        );
        // What is signed: HMAC over the signed string alone gives the same value.
        assert_eq!(compute(TOKEN, &b.signed_string, &[]), b.raw, "{}", b.title);
    }
}

#[test]
fn json_rows_validate_with_their_bodies() {
    let bodies = bodies();
    assert_eq!(bodies.len(), 2);
    let mut checked = 0;
    for b in blocks() {
        let Some((_, hash)) = b.url.split_once("bodySHA256=") else {
            continue;
        };
        let body = &bodies[hash];
        assert!(
            validate_json(TOKEN, &b.url, body.as_bytes(), &b.raw),
            "{}",
            b.title
        );
        // The node value of the [BAD] row is the :443 spelling's, which validation also tries.
        assert!(
            validate_json(TOKEN, &b.url, body.as_bytes(), &b.expected),
            "{}",
            b.title
        );
        let tampered = format!("{body} ");
        assert!(
            !validate_json(TOKEN, &b.url, tampered.as_bytes(), &b.raw),
            "{}",
            b.title
        );
        checked += 1;
    }
    assert_eq!(checked, 3);
}

/// The trailing `url signature` lines: the spellings twilio-node tries for the [BAD] rows.
fn trailing_lines() -> impl Iterator<Item = (&'static str, &'static str)> {
    VECTORS
        .lines()
        .filter(|l| l.starts_with("https://") || l.starts_with("http://"))
        .map(|l| l.split_once(' ').unwrap())
}

#[test]
fn respelt_urls_match() {
    let mut checked = 0;
    for (url, sig) in trailing_lines() {
        // JSON requests are signed without parameters, the others with P.
        let params = if url.contains("bodySHA256=") {
            vec![]
        } else {
            params(P)
        };
        assert_eq!(compute(TOKEN, url, &params), sig, "{url}");
        checked += 1;
    }
    assert_eq!(checked, 6);
}

#[test]
fn node_and_own_vectors_match() {
    let lines: Vec<&str> = VECTORS.lines().collect();
    let mut node = 0;
    let mut own = 0;
    let mut own_token = None;
    for (i, line) in lines.iter().enumerate() {
        if let Some(rest) = line.strip_prefix("node-spec token s3cr3t, no params: ") {
            let (url, sig) = rest.split_once(' ').unwrap();
            assert_eq!(compute("s3cr3t", url, &[]), sig);
            assert!(validate_form("s3cr3t", url, &[], sig));
            node += 1;
        }
        if line.starts_with("OWN vector") {
            // The first own vector names the token; the second uses the same one.
            if line.contains("token=") {
                own_token = Some(between(line, "token=", " "));
            }
            let token = own_token.expect("own token");
            let url = between(line, "url= ", " ");
            let params = params(between(line, "params= ", " sig="));
            let sig = between(line, "sig= ", " ");
            assert_eq!(between(line, "lib= ", " "), sig);
            assert_eq!(compute(token, url, &params), sig, "{line}");
            assert!(validate_form(token, url, &params, sig), "{line}");
            assert!(!validate_form(TOKEN, url, &params, sig), "{line}");
            let signed = unrepr(lines[i + 1].trim().strip_prefix("signed_string=").unwrap());
            assert_eq!(compute(token, signed, &[]), sig, "{line}");
            own += 1;
        }
    }
    assert_eq!((node, own), (2, 2));
}

/// The `validate …: True|False` lines (twilio-python `RequestValidator("12345").validate`).
#[test]
fn validation_outcomes_match() {
    let p = params(P);
    let u = "https://mycompany.com/myapp.php?foo=1&bar=2";
    let json_url =
        format!("{u}&bodySHA256=0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620");
    let body = r#"{"property": "value", "boolean": true}"#;
    let mut checked = 0;
    for line in VECTORS.lines().filter(|l| l.starts_with("validate ")) {
        let (what, outcome) = line.rsplit_once(": ").unwrap();
        let expected = match outcome {
            "True" => true,
            "False" => false,
            other => panic!("{other}"),
        };
        let got = match what {
            "validate https no-port w/ RSOY" => {
                validate_form(TOKEN, u, &p, "RSOYDt4T1cUTdK1PDd93/VVr8B8=")
            }
            "validate https :1234 w/ RSOY (port stripped)" => validate_form(
                TOKEN,
                "https://mycompany.com:1234/myapp.php?foo=1&bar=2",
                &p,
                "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
            ),
            "validate https no-port w/ kvaj (443 added)" => {
                validate_form(TOKEN, u, &p, "kvajT1Ptam85bY51eRf/AJRuM3w=")
            }
            "validate http no-port w/ 0ZXo (80 added)" => validate_form(
                TOKEN,
                "http://mycompany.com/myapp.php?foo=1&bar=2",
                &p,
                "0ZXoZLH/DfblKGATFgpif+LLRf4=",
            ),
            "validate http :1234 w/ Zmvh" => validate_form(
                TOKEN,
                "http://mycompany.com:1234/myapp.php?foo=1&bar=2",
                &p,
                "Zmvh+3yNM1Phv2jhDCwEM3q5ebU=",
            ),
            "validate JSON body" => validate_json(
                TOKEN,
                &json_url,
                body.as_bytes(),
                "a9nBmqA0ju/hNViExpshrM61xv4=",
            ),
            "validate JSON body tampered" => validate_json(
                TOKEN,
                &json_url,
                format!("{body} ").as_bytes(),
                "a9nBmqA0ju/hNViExpshrM61xv4=",
            ),
            "validate wrong token" => validate_form("1234", u, &p, "RSOYDt4T1cUTdK1PDd93/VVr8B8="),
            other => panic!("unknown validation line `{other}`: add it here"),
        };
        assert_eq!(got, expected, "{line}");
        checked += 1;
    }
    assert_eq!(checked, 8);
}
