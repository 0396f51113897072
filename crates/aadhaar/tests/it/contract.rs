//! The JSON the gateway serves: names and shapes exactly as CONTRACT.md spells them.

use crate::support::*;
use aadhaar::verify_and_parse;
use serde_json::{json, Value};

#[test]
fn the_contract_json_has_the_documented_shape() {
    let v = verify_and_parse(&signed_fixture(), &anchors()).expect("verifies");
    let c = v.aadhaar.to_contract(
        true,
        "https://gw.example/x/1.xml",
        "2026-11-25T19:06:28+05:30",
    );
    let mut j = serde_json::to_value(&c).expect("serializes");
    let photo = j["photo"].take();
    let generated = j["generatedAt"].take();
    assert_eq!(
        j,
        json!({
            "name": "Priya Sharma",
            "dateOfBirth": "15-08-1990",
            "gender": "F",
            "maskedNumber": "xxxx-xxxx-4412",
            "email": "",
            "phone": "",
            "photo": null,
            "generatedAt": null,
            "address": {
                "careOf": "D/O Rajesh Sharma", "country": "India", "district": "Jaipur",
                "house": "12-B, Shanti Kunj", "landmark": "Near Hanuman Mandir",
                "locality": "Malviya Nagar", "pin": "302017", "postOffice": "Malviya Nagar",
                "state": "Rajasthan", "street": "Gali No. 4 & 5", "subDistrict": "Sanganer",
                "vtc": "Jaipur"
            },
            "verified": {"email": false, "phone": false, "signature": true},
            "xml": {"fileUrl": "https://gw.example/x/1.xml", "shareCode": "", "validUntil": "2026-11-25T19:06:28+05:30"}
        })
    );
    // The photo is the JPEG as standard base64; generatedAt is ISO 8601 with the offset.
    let photo = photo.as_str().expect("string");
    assert_eq!(
        photo,
        between(
            &String::from_utf8(signed_fixture()).expect("utf8"),
            "<Pht>",
            "</Pht>"
        )
    );
    let generated = generated.as_str().expect("string");
    assert!(generated.ends_with("+05:30"), "{generated}");
    assert_eq!(
        time::OffsetDateTime::parse(generated, &time::format_description::well_known::Rfc3339).ok(),
        Some(v.signing.signing_time)
    );

    let local = serde_json::to_value(v.aadhaar.local_to_contract()).expect("json");
    assert_eq!(local["name"], Value::from("प्रिया शर्मा"));
    assert_eq!(local["address"]["subDistrict"], Value::from("सांगानेर"));
}

#[test]
fn signature_false_is_reported_as_false() {
    let a = aadhaar::parse_unverified(&signed_fixture()).expect("parses");
    let j = serde_json::to_value(a.to_contract(false, "u", "v")).expect("json");
    assert_eq!(j["verified"]["signature"], Value::Bool(false));
}

#[test]
fn generated_at_always_has_milliseconds_and_the_india_offset() {
    let mut a = aadhaar::parse_unverified(&signed_fixture()).expect("parses");
    let ist = time::UtcOffset::from_hms(5, 30, 0).expect("IST");
    let at = |ms: u16| {
        time::macros::datetime!(2021-10-26 17:17:36)
            .replace_millisecond(ms)
            .expect("valid ms")
            .assume_offset(ist)
    };
    for (t, want) in [
        (at(0), "2021-10-26T17:17:36.000+05:30"),
        (at(10), "2021-10-26T17:17:36.010+05:30"),
        (at(100), "2021-10-26T17:17:36.100+05:30"),
        (at(342), "2021-10-26T17:17:36.342+05:30"),
        // A ts written in UTC (or any other offset) is shown in India time.
        (
            time::macros::datetime!(2021-10-26 11:47:36.342 UTC),
            "2021-10-26T17:17:36.342+05:30",
        ),
        // Digits past the millisecond are dropped, not rounded into a fourth digit.
        (
            at(342).replace_nanosecond(342_999_999).expect("valid ns"),
            "2021-10-26T17:17:36.342+05:30",
        ),
    ] {
        a.generated_at = Some(t);
        let j = serde_json::to_value(a.to_contract(true, "u", "v")).expect("json");
        assert_eq!(j["generatedAt"], Value::from(want), "{t}");
    }
    a.generated_at = None;
    let j = serde_json::to_value(a.to_contract(true, "u", "v")).expect("json");
    assert_eq!(j["generatedAt"], Value::from(""));
}
