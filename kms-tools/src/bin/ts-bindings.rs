//! Prints the TypeScript declarations of the RPC types, for the client SDK.
//!
//! `cargo run -p kms-tools --features ts --bin ts-bindings > rpc.ts`
//! (`cargo xtask types` writes and checks the SDK's copy).
//!
//! Besides the types, it prints the method table from [`kms_core::rpc::METHODS`]: the
//! `Methods` interface (each method's params and result type), and `RESULT_TYPE` and
//! `POLICY` for checks at run time; and the ceremonies' replies from
//! [`kms_core::rpc::ceremony::CEREMONIES`] (`CEREMONY_RESULT_TYPE`).

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use kms_core::MethodKind;
use kms_core::envelope::{Envelope, PrekeyUse, SignedPrekey};
use kms_core::jwk::{Jwk, Jwks};
use kms_core::rpc::ceremony::{CEREMONIES, Ceremony, CeremonySpec};
use kms_core::rpc::frame::{Outcome, Reply};
use kms_core::rpc::policy::Policy;
use kms_core::rpc::{Bytes, METHODS, MethodSpec, RelayAlg, Request, SecretInput, SignalAddress};
use kms_core::service::{
    IdentityChangeInfo, IdentityTrust, KeyAlg, KeyInfo, KeyKind, MethodInfo, OneTimePrekeyInfo,
    PreKeysUsedInfo, Protection, Response, SignalSessionInfo,
};
use kms_core::signal::bundle::PreKeyBundle;
use kms_core::{ErrorBody, ErrorCode};
use kms_core::{KeyId, MethodId};
use ts_rs::{Config, TS, TypeVisitor};

/// Writes the declarations, each type once.
struct Decls {
    cfg: Config,
    out: String,
    declared: BTreeSet<String>,
}

impl Decls {
    fn decl<T: TS + ?Sized>(&mut self) {
        let (name, decl) = (T::ident(&self.cfg), T::decl(&self.cfg));
        self.push(name, &decl);
    }

    fn push(&mut self, name: String, decl: &str) {
        if self.declared.insert(name) {
            self.out.push_str("export ");
            self.out.push_str(decl);
            self.out.push_str("\n\n");
        }
    }

    /// Declares the named types `T` refers to directly (the params structs of
    /// [`Request`], the payload structs of [`Response`]), in the order `T` names them.
    fn decl_parts<T: TS + ?Sized + 'static>(&mut self) {
        let mut parts = Parts {
            cfg: &self.cfg,
            found: Vec::new(),
        };
        T::visit_dependencies(&mut parts);
        let whole = T::decl(&self.cfg);
        let mut found = parts.found;
        found.sort_by_key(|(name, _)| first_use(&whole, name));
        for (name, decl) in found {
            self.push(name, &decl);
        }
    }
}

/// Collects the declarations of the types a type refers to (ts-rs visits them in no
/// particular order).
struct Parts<'a> {
    cfg: &'a Config,
    found: Vec<(String, String)>,
}

impl TypeVisitor for Parts<'_> {
    fn visit<T: TS + 'static + ?Sized>(&mut self) {
        self.found.push((T::ident(self.cfg), T::decl(self.cfg)));
    }
}

/// Where the identifier `name` first appears in `text`.
fn first_use(text: &str, name: &str) -> Option<usize> {
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    text.match_indices(name).map(|(i, _)| i).find(|&i| {
        let before = text[..i].chars().next_back();
        let after = text[i + name.len()..].chars().next();
        !before.is_some_and(ident) && !after.is_some_and(ident)
    })
}

/// A JSDoc comment of `doc` (a Rust doc comment, one line per line), indented by `indent`.
fn jsdoc(doc: &str, indent: &str) -> String {
    let mut out = format!("{indent}/**\n");
    for line in doc.lines() {
        let _ = writeln!(out, "{indent} *{}", line.replace("*/", "*\\/"));
    }
    out + &format!("{indent} */\n")
}

/// A JSON string literal (which TypeScript reads the same way).
fn quoted(s: &str) -> Result<String> {
    serde_json::to_string(s).with_context(|| format!("quoting {s:?}"))
}

/// The method table: `Methods`, `Method`, `ParamsOf`, `ResultOf`, `RESULT_TYPE`, `POLICY`.
fn method_table(methods: &[MethodSpec], declared: &BTreeSet<String>) -> Result<String> {
    let mut table = String::from(
        "/** The reply whose `type` is `T`. */\n\
         export type ResponseOf<T extends Response[\"type\"]> = Extract<Response, { type: T }>;\n\n\
         /** Every method: its params (`undefined`: it takes none) and its result. */\n\
         export interface Methods {\n",
    );
    let mut results = String::new();
    let mut policies = String::new();
    for m in methods {
        let params = match m.params {
            Some(p) if declared.contains(p) => p,
            Some(p) => bail!("{}: params type {p} is not declared", m.name),
            None => "undefined",
        };
        let (name, result) = (quoted(m.name)?, quoted(m.result)?);
        let policy = serde_json::to_string(&m.policy)
            .with_context(|| format!("{}: encoding the policy", m.name))?;
        let audit = match m.audit {
            [] => String::from(" Audit log: nothing."),
            ops => {
                let ops: Vec<_> = ops.iter().map(|op| format!("`{op}`")).collect();
                format!(" Audit log: {}.", ops.join(", "))
            }
        };
        table.push_str(&jsdoc(&format!("{}\n{audit}", m.doc), "  "));
        let _ = writeln!(
            table,
            "  {name}: {{ params: {params}; result: ResponseOf<{result}> }};"
        );
        let _ = writeln!(results, "  {name}: {result},");
        let _ = writeln!(policies, "  {name}: {policy},");
    }
    table.push_str(
        "}\n\n\
         /** A method's wire name. */\n\
         export type Method = keyof Methods;\n\n\
         /** The params of method `M`. */\n\
         export type ParamsOf<M extends Method> = Methods[M][\"params\"];\n\n\
         /** The result of method `M`. */\n\
         export type ResultOf<M extends Method> = Methods[M][\"result\"];\n\n\
         /** The `type` of each method's reply, for checking replies at run time. */\n\
         export const RESULT_TYPE = {\n",
    );
    table.push_str(&results);
    table.push_str(
        "} as const satisfies { readonly [M in Method]: ResultOf<M>[\"type\"] };\n\n\
         /** Who may call each method. */\n\
         export const POLICY = {\n",
    );
    table.push_str(&policies);
    table.push_str("} as const satisfies { readonly [M in Method]: Policy };\n");
    Ok(table)
}

/// The ceremony table: `CEREMONY_RESULT_TYPE` and `CeremonyResultOf`.
fn ceremony_table(ceremonies: &[CeremonySpec]) -> Result<String> {
    let mut table = String::from(
        "/** The `type` of the reply each ceremony ends with. */\n\
         export const CEREMONY_RESULT_TYPE = {\n",
    );
    for c in ceremonies {
        let _ = writeln!(table, "  {}: {},", quoted(c.name)?, quoted(c.result)?);
    }
    table.push_str(
        "} as const satisfies { readonly [C in Ceremony[\"method\"]]: Response[\"type\"] };\n\n\
         /** The reply ceremony `C` ends with. */\n\
         export type CeremonyResultOf<C extends Ceremony[\"method\"]> =\n  \
         ResponseOf<(typeof CEREMONY_RESULT_TYPE)[C]>;\n",
    );
    Ok(table)
}

fn main() -> ExitCode {
    // JavaScript numbers carry every integer the RPC uses (ids, millisecond times).
    let mut d = Decls {
        cfg: Config::new().with_large_int("number"),
        out: String::from(
            "// Generated from the Rust RPC types by `cargo xtask types`. Do not edit.\n\n",
        ),
        declared: BTreeSet::new(),
    };
    d.out.push_str(&format!(
        "/** Protocol version of the RPC. */\nexport const RPC_VERSION = {};\n\n",
        kms_core::rpc::RPC_VERSION
    ));
    d.decl::<Bytes>();
    d.decl::<SecretInput>();
    d.decl::<KeyId>();
    d.decl::<MethodId>();
    d.decl::<RelayAlg>();
    d.decl::<Envelope>();
    d.decl::<SignalAddress>();
    d.decl::<PreKeyBundle>();
    d.decl_parts::<Request>();
    d.decl::<Request>();
    d.decl::<Ceremony>();
    d.decl::<KeyKind>();
    d.decl::<KeyAlg>();
    d.decl::<KeyInfo>();
    d.decl::<MethodKind>();
    d.decl::<Protection>();
    d.decl::<MethodInfo>();
    d.decl::<OneTimePrekeyInfo>();
    d.decl::<IdentityChangeInfo>();
    d.decl::<IdentityTrust>();
    d.decl::<PreKeysUsedInfo>();
    d.decl::<SignalSessionInfo>();
    d.decl::<Jwk>();
    d.decl::<Jwks>();
    d.decl::<PreKeyBundle>();
    d.decl::<PrekeyUse>();
    d.decl::<SignedPrekey>();
    d.decl_parts::<Response>();
    d.decl::<Response>();
    d.decl::<ErrorCode>();
    d.decl::<ErrorBody>();
    d.decl::<Outcome>();
    d.decl::<Reply>();
    d.decl::<Policy>();
    let tables = method_table(METHODS, &d.declared)
        .and_then(|methods| Ok(methods + "\n" + &ceremony_table(CEREMONIES)?));
    match tables {
        Ok(tables) => d.out.push_str(&tables),
        Err(e) => {
            eprintln!("ts-bindings: {e:#}");
            return ExitCode::FAILURE;
        }
    }
    print!("{}", d.out.trim_end());
    println!();
    ExitCode::SUCCESS
}
