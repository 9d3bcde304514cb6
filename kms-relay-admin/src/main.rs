//! `kms-relay-admin`: the prekey owner's CLI over an encrypted local vault
//! (`kms-relay-admin --help`, and `--help` after any command for its flags).
//!
//! The vault is kms-core's key service on a SQLite file: private prekeys sealed under a KEK,
//! the KEK sealed under a passphrase (PBKDF2-SHA256 600 000), every operation audited. The
//! passphrase comes from `KMS_VAULT_PASSPHRASE` or `--passphrase-file`.
//!
//! ```text
//! kms-relay-admin [--vault kms-vault.db] [--origin https://kms-admin.localhost] <command>
//!   vault init [--classic]           create the vault, its relay key, identity and epoch key
//!   vault status                     keys and prekeys in the vault
//!   vault identity                   the identity key senders verify prekeys with (base64url)
//!   vault jwks                       the relay-token JWKS to register with the vending server
//!   prekeys replenish --count N (--server URL | --sql FILE [--d1]) [--audience ID] [--classic]
//!   prekeys replenish --target N --server URL     top the server up to N available keys
//!   prekeys count --server URL                    available and consumed keys on the server
//!   epoch publish --server URL [--audience ID] [--rotate] [--classic]
//!   envelope open FILE               print the plaintext; shreds a one-time prekey
//! ```

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{ArgGroup, CommandFactory, FromArgMatches, Parser, Subcommand};
use kms_core::Origin;
use kms_core::envelope::Envelope;
use kms_core::rpc::{RelayAlg, RelayCreateKeyParams, SecretInput, methods};
use kms_core::service::KeyKind;
use kms_core::{Clock, SystemClock};
use kms_relay::client::{ClientError, VendingClient};
use kms_relay::vending::{MAX_BATCH, VendingError, d1_script, sql_script};
use kms_relay_admin::owner::{DEFAULT_AUDIENCE, Owner, OwnerError};
use zeroize::Zeroizing;

/// The prekey owner's CLI over an encrypted local vault: make one-time prekeys, upload them
/// to a vending server, open the envelopes senders seal to them.
///
/// The vault passphrase comes from `$KMS_VAULT_PASSPHRASE` or `--passphrase-file`.
#[derive(Parser)]
#[command(name = "kms-relay-admin", version)]
struct Cli {
    #[command(flatten)]
    vault: VaultArgs,
    #[command(subcommand)]
    command: Command,
}

/// Where the vault is and how to unlock it (accepted before or after the command).
#[derive(clap::Args)]
#[command(next_help_heading = "Vault")]
struct VaultArgs {
    /// The vault file (SQLite; `vault init` creates it).
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        default_value = "kms-vault.db"
    )]
    vault: PathBuf,
    /// The origin shard the vault's keys belong to: the upload tokens' issuer, which the
    /// vending server's `--issuer` must name.
    #[arg(
        long,
        global = true,
        value_name = "ORIGIN",
        default_value = "https://kms-admin.localhost",
        value_parser = Origin::parse
    )]
    origin: Origin,
    /// Read the vault passphrase from this file (trailing newline ignored) instead of
    /// `$KMS_VAULT_PASSPHRASE`.
    #[arg(long, global = true, value_name = "FILE")]
    passphrase_file: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// The local vault: create it, show it, print what to register with the operator.
    #[command(subcommand)]
    Vault(VaultCommand),
    /// One-time prekeys: generate and upload (or export) them, count them on the server.
    #[command(subcommand)]
    Prekeys(PrekeysCommand),
    /// The epoch key senders fall back to when no one-time prekey is left.
    #[command(subcommand)]
    Epoch(EpochCommand),
    /// Envelopes senders sealed to the owner.
    #[command(subcommand)]
    Envelope(EnvelopeCommand),
}

#[derive(Subcommand)]
enum VaultCommand {
    /// Create the vault with its relay key, identity key and epoch key; prints the identity.
    Init {
        /// Make the epoch key X25519-only (default: hybrid X25519 + ML-KEM-768).
        #[arg(long)]
        classic: bool,
    },
    /// Keys and prekeys held in the vault; verifies the audit log.
    Status,
    /// Print the identity key senders verify prekeys with (base64url), for the server's
    /// `--owner-identity`.
    Identity,
    /// Print the relay-token JWKS to register with the vending server (`--jwks-file`).
    Jwks,
}

#[derive(Subcommand)]
enum PrekeysCommand {
    /// Generate one-time prekeys and upload them (`--server`) or write an SQL import script
    /// for the server's database (`--sql`).
    Replenish(Replenish),
    /// Print the available and consumed prekeys on the server.
    Count {
        /// The vending server's base URL.
        #[arg(long, value_name = "URL")]
        server: String,
    },
}

#[derive(clap::Args)]
#[command(group(ArgGroup::new("amount").required(true).args(["count", "target"])))]
#[command(group(ArgGroup::new("destination").required(true).args(["server", "sql"])))]
struct Replenish {
    /// Generate N prekeys.
    #[arg(long, value_name = "N")]
    count: Option<u32>,
    /// Generate as many as bring the server up to N available prekeys (a low-water refill;
    /// needs `--server`).
    #[arg(long, value_name = "N", requires = "server", conflicts_with = "sql")]
    target: Option<u32>,
    /// Upload to this vending server (base URL).
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// Write an SQL script that imports the prekeys into the server's database instead.
    #[arg(long, value_name = "FILE")]
    sql: Option<PathBuf>,
    /// Write the script for the Worker's D1 database (`wrangler d1 execute DB --file FILE`),
    /// which runs the file as one transaction itself and refuses `BEGIN`/`COMMIT`.
    #[arg(long, requires = "sql")]
    d1: bool,
    #[command(flatten)]
    audience: Audience,
    /// Make X25519-only prekeys (default: hybrid X25519 + ML-KEM-768).
    #[arg(long)]
    classic: bool,
}

/// The upload tokens' audience.
#[derive(clap::Args)]
struct Audience {
    /// The audience of upload tokens: the vending server's `--audience`.
    #[arg(long, value_name = "ID", default_value = DEFAULT_AUDIENCE)]
    audience: String,
}

#[derive(Subcommand)]
enum EpochCommand {
    /// Upload the epoch key to the vending server.
    Publish {
        /// The vending server's base URL.
        #[arg(long, value_name = "URL")]
        server: String,
        #[command(flatten)]
        audience: Audience,
        /// Make a new epoch key first (the old one keeps opening what was sealed to it).
        #[arg(long)]
        rotate: bool,
        /// Make a new epoch key X25519-only (default: hybrid X25519 + ML-KEM-768).
        #[arg(long)]
        classic: bool,
    },
}

#[derive(Subcommand)]
enum EnvelopeCommand {
    /// Print an envelope's plaintext; a one-time prekey it was sealed to is shredded.
    Open {
        /// The envelope, as JSON.
        #[arg(value_name = "FILE")]
        file: PathBuf,
    },
}

/// A command failed.
#[derive(Debug, thiserror::Error)]
enum CliError {
    /// Arguments the parser's rules should have refused.
    #[error("{0}")]
    Usage(&'static str),
    /// The vault refused or failed.
    #[error(transparent)]
    Owner(#[from] OwnerError),
    /// No passphrase given.
    #[error("set KMS_VAULT_PASSPHRASE or --passphrase-file")]
    NoPassphrase,
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// An envelope file is not an envelope.
    #[error("{}: {source}", path.display())]
    Envelope {
        /// The file.
        path: PathBuf,
        /// Why.
        source: serde_json::Error,
    },
    /// The vending server could not be reached or refused.
    #[error("{what}: {source}")]
    Server {
        /// What was asked: `count`, `upload`, `publish`.
        what: &'static str,
        /// Why.
        source: ClientError,
    },
    /// The SQL import script could not be made.
    #[error("SQL script: {0}")]
    SqlScript(#[from] VendingError),
    /// The JWKS could not be serialized.
    #[error("JWKS: {0}")]
    Jwks(serde_json::Error),
    /// Standard output failed.
    #[error("stdout: {0}")]
    Stdout(#[from] std::io::Error),
}

fn main() -> ExitCode {
    let command = Cli::command();
    let every = every_command(&command);
    let cli = command
        .after_help(every)
        .try_get_matches()
        .and_then(|m| Cli::from_arg_matches(&m))
        .unwrap_or_else(|e| e.exit());
    match run(&cli, &mut std::io::stdout().lock()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("kms-relay-admin: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The top-level help's list of every command with what it does, read off the parser so
/// that it cannot miss one.
fn every_command(cli: &clap::Command) -> String {
    let rows: Vec<(String, String)> = cli
        .get_subcommands()
        .flat_map(|group| {
            group.get_subcommands().map(move |c| {
                let about = c.get_about().map(ToString::to_string).unwrap_or_default();
                (format!("{} {}", group.get_name(), c.get_name()), about)
            })
        })
        .collect();
    let width = rows.iter().map(|(name, _)| name.len()).max().unwrap_or(0);
    let mut text = String::from("Every command (`<command> --help` lists its flags):\n");
    for (name, about) in rows {
        text.push_str(&format!("  {name:width$}  {about}\n"));
    }
    text
}

impl VaultArgs {
    fn passphrase(&self) -> Result<SecretInput, CliError> {
        let text = Zeroizing::new(match &self.passphrase_file {
            Some(path) => read(path)?,
            None => std::env::var("KMS_VAULT_PASSPHRASE").map_err(|_| CliError::NoPassphrase)?,
        });
        Ok(SecretInput::from(text.trim_end_matches(['\r', '\n'])))
    }

    fn create(&self) -> Result<Owner, CliError> {
        let passphrase = self.passphrase()?;
        Ok(Owner::create(&self.vault, self.origin.clone(), passphrase)?)
    }

    fn unlock(&self) -> Result<Owner, CliError> {
        let passphrase = self.passphrase()?;
        Ok(Owner::unlock(&self.vault, self.origin.clone(), passphrase)?)
    }
}

fn read(path: &Path) -> Result<String, CliError> {
    std::fs::read_to_string(path).map_err(|source| CliError::File {
        path: path.to_owned(),
        source,
    })
}

fn server(what: &'static str) -> impl FnOnce(ClientError) -> CliError {
    move |source| CliError::Server { what, source }
}

fn run(cli: &Cli, out: &mut impl Write) -> Result<(), CliError> {
    let v = &cli.vault;
    match &cli.command {
        Command::Vault(command) => vault(v, command, out),
        Command::Prekeys(PrekeysCommand::Replenish(r)) => replenish(v, r, out),
        Command::Prekeys(PrekeysCommand::Count { server: url }) => {
            let (available, consumed) = VendingClient::new(url).count().map_err(server("count"))?;
            Ok(writeln!(out, "available {available}, consumed {consumed}")?)
        }
        Command::Epoch(EpochCommand::Publish {
            server: url,
            audience,
            rotate,
            classic,
        }) => {
            let mut owner = v.unlock()?;
            let prekey = owner.epoch_key(!classic, *rotate)?.prekey;
            let token = owner.upload_token(&audience.audience)?;
            VendingClient::new(url)
                .put_epoch(&token, &prekey)
                .map_err(server("publish"))?;
            Ok(writeln!(out, "epoch key {} published", prekey.kid)?)
        }
        Command::Envelope(EnvelopeCommand::Open { file }) => {
            let envelope: Envelope =
                serde_json::from_str(&read(file)?).map_err(|source| CliError::Envelope {
                    path: file.clone(),
                    source,
                })?;
            let plaintext = v.unlock()?.open_envelope(envelope)?;
            out.write_all(&plaintext)?;
            Ok(out.flush()?)
        }
    }
}

fn vault(v: &VaultArgs, command: &VaultCommand, out: &mut impl Write) -> Result<(), CliError> {
    match command {
        VaultCommand::Init { classic } => {
            let mut owner = v.create()?;
            let params = RelayCreateKeyParams {
                alg: RelayAlg::EdDSA,
            };
            owner.call::<methods::RelayCreateKey>(params)?;
            let identity = owner.epoch_key(!classic, false)?.identity_key;
            writeln!(out, "vault created: {}", v.vault.display())?;
            Ok(writeln!(out, "identity key: {identity}")?)
        }
        VaultCommand::Status => {
            let mut owner = v.unlock()?;
            let keys = owner.call::<methods::ListKeys>(())?.keys;
            let count = |kind| keys.iter().filter(|k| k.kind == kind).count();
            writeln!(out, "vault: {} (unlocked)", v.vault.display())?;
            writeln!(out, "origin shard: {}", owner.origin())?;
            let prekeys = count(KeyKind::EnvelopePrekey);
            writeln!(out, "one-time prekeys held: {prekeys}")?;
            writeln!(out, "epoch keys held: {}", count(KeyKind::EnvelopeEpoch))?;
            writeln!(out, "relay keys: {}", count(KeyKind::Relay))?;
            let audit = owner.call::<methods::AuditVerify>(())?;
            Ok(writeln!(
                out,
                "audit log: {} entries, verified",
                audit.size
            )?)
        }
        VaultCommand::Identity => {
            // `envelope.epochKey` answers with the identity that signs; the epoch key it
            // returns is the one `vault init` made.
            let identity = v.unlock()?.epoch_key(true, false)?.identity_key;
            Ok(writeln!(out, "{identity}")?)
        }
        VaultCommand::Jwks => {
            let jwks = v.unlock()?.call::<methods::RelayJwks>(())?.jwks;
            let json = serde_json::to_string(&jwks).map_err(CliError::Jwks)?;
            Ok(writeln!(out, "{json}")?)
        }
    }
}

fn replenish(v: &VaultArgs, r: &Replenish, out: &mut impl Write) -> Result<(), CliError> {
    let count = match (r.count, r.target, &r.server) {
        // Low-water refill: top the server up to `target` available keys.
        (None, Some(target), Some(url)) => {
            let (available, _) = VendingClient::new(url).count().map_err(server("count"))?;
            target.saturating_sub(u32::try_from(available).unwrap_or(u32::MAX))
        }
        (Some(n), None, _) => n,
        // The `amount` group and `requires` rule the rest out before this runs.
        _ => {
            return Err(CliError::Usage(
                "give --count N, or --target N with --server",
            ));
        }
    };
    if count == 0 {
        return Ok(writeln!(out, "enough prekeys available; none generated")?);
    }
    let mut owner = v.unlock()?;
    let prekeys = owner.prekeys(count, !r.classic)?;
    match (&r.server, &r.sql) {
        (Some(url), None) => {
            let client = VendingClient::new(url);
            let mut available = 0;
            for batch in prekeys.chunks(MAX_BATCH) {
                let token = owner.upload_token(&r.audience.audience)?;
                available = client
                    .upload(&token, batch)
                    .map_err(server("upload"))?
                    .available;
            }
            let n = prekeys.len();
            Ok(writeln!(
                out,
                "generated and uploaded {n} prekeys; {available} available on the server"
            )?)
        }
        (None, Some(path)) => {
            let script = if r.d1 {
                d1_script(&prekeys, SystemClock.now_ms())?
            } else {
                sql_script(&prekeys, SystemClock.now_ms())?
            };
            std::fs::write(path, script).map_err(|source| CliError::File {
                path: path.clone(),
                source,
            })?;
            let (n, path) = (prekeys.len(), path.display());
            Ok(writeln!(
                out,
                "generated {n} prekeys; SQL import script written to {path}"
            )?)
        }
        // The `destination` group rules this out before this runs.
        _ => Err(CliError::Usage("give exactly one of --server, --sql")),
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    #[test]
    fn the_command_line_is_well_formed() {
        Cli::command().debug_assert();
    }
}
