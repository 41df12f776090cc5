//! How new accounts start: the registration mode, set by `--registration` and overridden by an
//! administrator in the admin panel (the `registration` key of `site_settings`).

/// The registration mode.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum RegistrationMode {
    /// A new account is active at once.
    Open,
    /// A new account is active once its owner follows the link mailed to them.
    Email,
    /// A new account is active once an administrator approves it.
    Admin,
    /// Nobody can register.
    Closed,
}

impl RegistrationMode {
    /// Every mode.
    pub const ALL: [RegistrationMode; 4] = [
        RegistrationMode::Open,
        RegistrationMode::Email,
        RegistrationMode::Admin,
        RegistrationMode::Closed,
    ];

    /// The name (command line, `site_settings`, the `mode` label of
    /// `forum_registrations_total`).
    pub fn as_str(self) -> &'static str {
        match self {
            RegistrationMode::Open => "open",
            RegistrationMode::Email => "email",
            RegistrationMode::Admin => "admin",
            RegistrationMode::Closed => "closed",
        }
    }

    /// The mode named `s`, if any.
    pub fn parse(s: &str) -> Option<RegistrationMode> {
        RegistrationMode::ALL
            .into_iter()
            .find(|m| m.as_str() == s.trim())
    }

    /// What the admin panel says of the mode.
    pub fn describe(self) -> &'static str {
        match self {
            RegistrationMode::Open => "open: new accounts are active at once",
            RegistrationMode::Email => "e-mail: new accounts follow a mailed link to activate",
            RegistrationMode::Admin => "approval: an administrator approves each new account",
            RegistrationMode::Closed => "closed: nobody can register",
        }
    }
}

impl std::fmt::Display for RegistrationMode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_mode_parses_back_from_its_name() {
        for m in RegistrationMode::ALL {
            assert_eq!(RegistrationMode::parse(m.as_str()), Some(m));
        }
        assert_eq!(RegistrationMode::parse("invite"), None);
    }
}
