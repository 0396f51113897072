//! How the token and user answers spell the fields that DigiLocker's
//! published spec and its live service spell differently.
//!
//! The published `AccessResponse` says `digilocker_id`, `eaadhar`, a `dob`
//! that is a JSON number (so `01011975` arrives as `1011975`) and a
//! `consent_valid_till` string; the live service sends `digilockerid`,
//! `eaadhaar`, the string `"01011975"` and a number, and public clients have
//! seen both. A client must read every combination, so with
//! [`crate::SandboxConfig::quirks`] on (the default) one run of the sandbox
//! answers with all of them, by a fixed rule:
//!
//! - the `n`th token answer (code exchange or refresh, counted from 0 since
//!   the start) for the citizen at position `p` of [`crate::seed::citizens`]
//!   is spelt [`TOKEN_SPELLINGS`]`[(p + n) % 4]`;
//! - the `n`th `oauth2/1/user` answer for that citizen spells the flag
//!   `eaadhar` when `(p + n)` is even, `eaadhaar` when it is odd (its
//!   `digilockerid` and string `dob` are the same in the spec and the
//!   service).
//!
//! So the happy-path citizen (position 0) is answered in the published
//! spelling first, then the service's, then the two mixtures, and any four
//! token answers for one citizen show every spelling. With the quirks off,
//! every answer is [`Spelling::SERVICE`].

/// One answer's spelling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Spelling {
    /// `digilockerid` and `eaadhaar`, as the service sends them; else
    /// `digilocker_id` and `eaadhar`, as the published spec writes them.
    pub service_names: bool,
    /// `dob` the string `"DDMMYYYY"` and `consent_valid_till` a number, as
    /// the service sends them; else `dob` a JSON number and
    /// `consent_valid_till` a string of digits, as the spec types them.
    pub service_types: bool,
}

impl Spelling {
    /// Everything as DigiLocker's live service sends it (and the only
    /// spelling with the quirks off).
    pub const SERVICE: Spelling = Spelling {
        service_names: true,
        service_types: true,
    };
    /// Everything as DigiLocker's published `AccessResponse` writes it.
    pub const PUBLISHED: Spelling = Spelling {
        service_names: false,
        service_types: false,
    };

    /// The spelling of the `n`th token answer (from 0) for the citizen at
    /// `position` in [`crate::seed::citizens`], with the quirks on.
    pub fn of_token_answer(position: usize, n: u64) -> Spelling {
        let turn = (position as u64).wrapping_add(n) % TOKEN_SPELLINGS.len() as u64;
        TOKEN_SPELLINGS[usize::try_from(turn).unwrap_or(0)]
    }

    /// The spelling of the `n`th user answer (from 0) for the citizen at
    /// `position`, with the quirks on: only the names vary there.
    pub fn of_user_answer(position: usize, n: u64) -> Spelling {
        Spelling {
            service_names: (position as u64).wrapping_add(n) % 2 == 1,
            service_types: true,
        }
    }

    /// The name of the DigiLocker id field.
    pub fn id_field(self) -> &'static str {
        if self.service_names {
            "digilockerid"
        } else {
            "digilocker_id"
        }
    }

    /// The name of the e-Aadhaar flag.
    pub fn eaadhaar_field(self) -> &'static str {
        if self.service_names {
            "eaadhaar"
        } else {
            "eaadhar"
        }
    }
}

/// The four spellings of a token answer, in the order they take turns.
pub const TOKEN_SPELLINGS: [Spelling; 4] = [
    Spelling::PUBLISHED,
    Spelling::SERVICE,
    Spelling {
        service_names: true,
        service_types: false,
    },
    Spelling {
        service_names: false,
        service_types: true,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn four_answers_in_a_row_show_every_spelling() {
        for position in 0..5 {
            let seen: std::collections::HashSet<Spelling> = (0..4)
                .map(|n| Spelling::of_token_answer(position, n))
                .collect();
            assert_eq!(seen.len(), 4);
            let users: std::collections::HashSet<&str> = (0..2)
                .map(|n| Spelling::of_user_answer(position, n).eaadhaar_field())
                .collect();
            assert_eq!(users.len(), 2);
        }
        assert_eq!(Spelling::of_token_answer(0, 0), Spelling::PUBLISHED);
        assert_eq!(Spelling::of_token_answer(0, 1), Spelling::SERVICE);
        assert_eq!(Spelling::of_token_answer(3, 1), Spelling::PUBLISHED);
    }
}
