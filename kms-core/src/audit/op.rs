//! The operations the audit log records: one variant each, and the name it is stored as.

use core::fmt;

macro_rules! ops {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal, )+) => {
        /// An operation of the service, as its audit entry records it. Stored as
        /// [`Op::as_str`] (`<area>.<verb>` in `[a-z0-9._-]`); the entry format keeps any
        /// name, so logs written by another version still verify.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum Op {
            $( $(#[$doc])* $variant, )+
        }

        impl Op {
            /// Every operation, in declaration order.
            pub const ALL: &'static [Op] = &[$(Op::$variant),+];

            /// The name stored in the audit entry.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Op::$variant => $name,)+
                }
            }

            /// The operation stored as `name`, if this version knows it.
            pub fn parse(name: &str) -> Option<Op> {
                match name {
                    $($name => Some(Op::$variant),)+
                    _ => None,
                }
            }
        }
    };
}

ops! {
    /// `setup`: the KEK and the first passphrase method were created.
    Setup = "setup",
    /// `lock`: the KEK was forgotten.
    Lock = "lock",
    /// `unlock.passphrase`: an unlock with a passphrase (denied: a wrong one, or back-off).
    UnlockPassphrase = "unlock.passphrase",
    /// `unlock.prf`: an unlock with a passkey's PRF output.
    UnlockPrf = "unlock.prf",
    /// `unlock.gateChallenge`, refused to a caller (it records nothing when served).
    UnlockGateChallenge = "unlock.gate-challenge",
    /// `unlock.gate`: a passkey-gate session was opened.
    UnlockGate = "unlock.gate",
    /// `methods.addPassphrase`.
    AddPassphrase = "methods.add-passphrase",
    /// `methods.changePassphrase`.
    ChangePassphrase = "methods.change-passphrase",
    /// `methods.prfInput`, refused to a caller (it records nothing when served).
    NewPrfInput = "methods.prf-input",
    /// `methods.addPrf`.
    AddPrf = "methods.add-prf",
    /// `methods.addGate`.
    AddGate = "methods.add-gate",
    /// `methods.remove`.
    RemoveMethod = "methods.remove",
    /// `keys.delete`.
    DeleteKey = "keys.delete",
    /// The shard's VAPID key was created (on first use).
    VapidCreate = "vapid.create",
    /// `vapid.authorization`: a VAPID JWT was signed.
    VapidSign = "vapid.sign",
    /// `vapid.rotate`.
    VapidRotate = "vapid.rotate",
    /// `relay.createKey`.
    RelayCreateKey = "relay.create-key",
    /// `relay.token`: a relay token was signed.
    RelaySign = "relay.sign",
    /// The shard's Signal identity and first prekeys were created (on first use).
    SignalCreateIdentity = "signal.create-identity",
    /// `signal.replenish`: one-time prekeys were generated.
    SignalReplenish = "signal.replenish",
    /// `signal.rotateSignedPrekey`.
    SignalRotateSignedPrekey = "signal.rotate-signed-prekey",
    /// `signal.sign`: a page signature.
    SignalSign = "signal.sign",
    /// `signal.startSession`: a session was started from a peer's prekey bundle.
    SignalStartSession = "signal.start-session",
    /// `signal.encrypt`: a message was encrypted with a session.
    SignalEncrypt = "signal.encrypt",
    /// `signal.decrypt`: a message was decrypted (and, for a session's first message, its
    /// one-time prekey shredded). A message that fails to decrypt records nothing.
    SignalDecrypt = "signal.decrypt",
    /// `signal.deleteSession`.
    SignalDeleteSession = "signal.delete-session",
    /// `signal.trust`: the user set the identity key trusted for an address.
    SignalTrust = "signal.trust",
    /// `envelope.prekeys`: one-time envelope prekeys were generated.
    EnvelopePrekeys = "envelope.prekeys",
    /// `envelope.epochKey`: an epoch key was created.
    EnvelopeEpochKey = "envelope.epoch-key",
    /// `envelope.open`: an envelope was opened (denied: it did not open).
    EnvelopeOpen = "envelope.open",
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_in_the_log_charset() {
        let mut seen = std::collections::BTreeSet::new();
        for op in Op::ALL {
            let name = op.as_str();
            assert!(seen.insert(name), "{name} twice");
            assert!(
                name.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b)),
                "{name}"
            );
            assert_eq!(Op::parse(name), Some(*op));
        }
        assert_eq!(Op::parse("vapid.unknown"), None);
    }
}
