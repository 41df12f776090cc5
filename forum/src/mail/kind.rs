//! The kinds of mail the forum sends.

/// The kinds of mail, the `kind` label of `forum_emails_total`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MailKind {
    /// The link that activates a new account (registration mode `email`).
    Activation,
    /// A password reset link (valid one hour, single use).
    PasswordReset,
    /// The link, sent to the new address, that confirms an e-mail change.
    EmailChange,
    /// Told to the owner of an address someone tried to register again.
    AddressInUse,
    /// An administrator approved the account (registration mode `admin`).
    AccountApproved,
    /// A notification (reply, mention, quote, best answer, invitation), for a member who
    /// wants a mail each time.
    Notification,
    /// The notifications of a digest period, for a member who wants a digest.
    Digest,
}

impl MailKind {
    /// Every kind.
    pub const ALL: [MailKind; 7] = [
        MailKind::Activation,
        MailKind::PasswordReset,
        MailKind::EmailChange,
        MailKind::AddressInUse,
        MailKind::AccountApproved,
        MailKind::Notification,
        MailKind::Digest,
    ];

    /// The name stored in `mails.kind` and used as a label.
    pub fn as_str(self) -> &'static str {
        match self {
            MailKind::Activation => "activation",
            MailKind::PasswordReset => "password_reset",
            MailKind::EmailChange => "email_change",
            MailKind::AddressInUse => "address_in_use",
            MailKind::AccountApproved => "account_approved",
            MailKind::Notification => "notification",
            MailKind::Digest => "digest",
        }
    }

    /// The kind named `s`, if any.
    pub fn parse(s: &str) -> Option<MailKind> {
        MailKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_parses_back_from_its_name() {
        for kind in MailKind::ALL {
            assert_eq!(MailKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(MailKind::parse("spam"), None);
    }
}
