//! The README's citizens table must list every seeded citizen, and its
//! records table every record an issuer holds for them, so testers reading
//! it find the numbers the sandbox really accepts.

#[test]
fn readme_lists_every_seeded_citizen_with_their_numbers() {
    let readme = include_str!("../../README.md");
    for citizen in sandbox::seed::citizens() {
        let row = readme
            .lines()
            .find(|l| l.starts_with(&format!("| {} |", citizen.name)))
            .unwrap_or_else(|| panic!("README has no row for {}", citizen.name));
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        assert_eq!(
            cells[2],
            citizen.aadhaar.as_deref().unwrap_or("—"),
            "{}",
            citizen.name
        );
        assert_eq!(
            cells[3],
            citizen.mobile.as_deref().unwrap_or("—"),
            "{}",
            citizen.name
        );
        assert_eq!(
            cells[4],
            if citizen.has_account { "yes" } else { "no" },
            "{}",
            citizen.name
        );
    }
    // Every record an issuer holds for a citizen, with the values that find it.
    for citizen in sandbox::seed::citizens() {
        for record in &citizen.pullable {
            let row = readme
                .lines()
                .find(|l| {
                    l.starts_with(&format!("| {} |", citizen.name))
                        && l.contains(&format!("`{}`", record.uri))
                })
                .unwrap_or_else(|| panic!("README has no record row for {}", record.uri));
            assert!(row.contains(&format!("`{}`", record.orgid)), "{row}");
            for (name, value) in &record.params {
                assert!(
                    row.contains(&format!("`{name}={value}`")),
                    "{name} in {row}"
                );
            }
        }
    }
    assert!(readme.contains(&format!("**`{}`**", sandbox::seed::OTP)));
    assert!(readme.contains(&format!("**`{}`**", sandbox::seed::PIN)));
}
