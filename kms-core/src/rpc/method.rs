//! One method, one contract: its wire name, who may call it, its params and its result.
//!
//! Every method is declared once, in the table in [`super`] (`methods! { … }`). From that
//! one row come the [`super::Request`] variant that decodes it, [`super::Request::method`]
//! and [`super::Request::policy`], a marker type in [`super::methods`] implementing
//! [`Method`], and its [`MethodSpec`] in [`super::METHODS`], which the policy walk and the
//! TypeScript generator iterate. A row without a policy or a result does not compile, and a
//! params struct can belong to one method only (it implements [`Params`] once).
//!
//! Native callers use the marker types with [`crate::service::Kms::call`]:
//!
//! ```
//! # use kms_core::{ManualClock, Origin, rpc::methods, rpc::policy::Caller};
//! # use kms_core::{Kms, MemoryStore};
//! # use rand::SeedableRng;
//! # let rng = rand::rngs::StdRng::seed_from_u64(1);
//! # let mut kms = Kms::new(MemoryStore::new(), ManualClock::new(0), rng);
//! let page = Caller::Page(Origin::parse("https://app.example")?);
//! let status = pollster::block_on(kms.call::<methods::Status>(&page, ()))?;
//! assert!(!status.initialized);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use core::fmt;
use core::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, MapAccess, Visitor};

use super::Request;
use super::policy::Policy;
use crate::audit::Op;
use crate::service::{Payload, Response, UnexpectedReply};

/// A method of the RPC, implemented by its marker type in [`super::methods`].
pub trait Method {
    /// The wire name (`"vapid.authorization"`).
    const NAME: &'static str;
    /// Who may call it.
    const POLICY: Policy;
    /// Every operation it may record in the audit log; a refusal by its policy is recorded
    /// under the first.
    const AUDIT: &'static [Op];
    /// Its params: a struct of [`super::params`], or `()` for a method that takes none
    /// (its frame has no `params`).
    type Params;
    /// What it returns: the data of one [`Response`] variant (`()` for `done`).
    type Output: Payload;

    /// The request that calls this method with `params`.
    fn request(params: Self::Params) -> Request;

    /// This method's result out of `response`.
    ///
    /// # Errors
    /// [`UnexpectedReply`] when `response` is not of this method's result type.
    fn output(response: Response) -> Result<Self::Output, UnexpectedReply> {
        Self::Output::from_response(response)
    }
}

/// A method's row of the table, for code that walks every method (the policy walk, the
/// TypeScript generator).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodSpec {
    /// The wire name.
    pub name: &'static str,
    /// Who may call it.
    pub policy: Policy,
    /// Every operation it may record in the audit log ([`Method::AUDIT`]).
    pub audit: &'static [Op],
    /// The name of its params type (a struct of [`super::params`]); `None` when it takes
    /// none.
    pub params: Option<&'static str>,
    /// The `type` tag of its reply ([`Payload::TYPE`]).
    pub result: &'static str,
    /// Its doc comment, one line per line.
    pub doc: &'static str,
}

impl MethodSpec {
    /// The spec of `name`, if it is a method.
    pub fn find(name: &str) -> Option<&'static MethodSpec> {
        super::METHODS.iter().find(|m| m.name == name)
    }
}

/// A method's params struct: decoded only from an object (never from an array, which a
/// derived `Deserialize` would also accept).
pub trait Params: for<'de> Deserialize<'de> {
    /// What a decode error says was expected.
    const EXPECTING: &'static str;
}

/// Decodes params `T` from an object only: what the `params` of each table row goes
/// through.
pub(crate) fn from_map<'de, D: Deserializer<'de>, T: Params>(d: D) -> Result<T, D::Error> {
    struct MapOnly<T>(PhantomData<T>);

    impl<'de, T: Params> Visitor<'de> for MapOnly<T> {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(T::EXPECTING)
        }

        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(de::value::MapAccessDeserializer::new(map))
        }
    }

    d.deserialize_any(MapOnly(PhantomData))
}

/// Decodes the params of a method that takes none: only `null` (as for an absent `params`).
pub(crate) fn unit_from(
    raw: &serde_json::value::RawValue,
    expecting: &'static str,
) -> Result<(), String> {
    struct Unit(&'static str);

    impl<'de> Visitor<'de> for Unit {
        type Value = ();

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }

        fn visit_unit<E: de::Error>(self) -> Result<(), E> {
            Ok(())
        }
    }

    serde_json::Deserializer::from_str(raw.get())
        .deserialize_any(Unit(expecting))
        .map_err(|e| super::json_error(&e))
}

/// Declares the methods: one row per method,
///
/// ```text
/// /// Doc comment.
/// Variant(ParamsStruct) = "wire.name": Policy -> OutputType, audits [Op, …];
/// ```
///
/// (`Variant = "wire.name": …` for a method without params), and generates
/// [`super::Request`], its `method()`, `policy()` and `audit_ops()`, the marker types in
/// `methods`, their [`Method`] and [`Params`] impls, and [`super::METHODS`].
macro_rules! methods {
    (@params) => { () };
    (@params $params:ident) => { $params };
    (@params_name) => { None };
    (@params_name $params:ident) => { Some(stringify!($params)) };
    (@request $variant:ident) => {
        fn request((): ()) -> $crate::rpc::Request {
            $crate::rpc::Request::$variant
        }
    };
    (@decode $variant:ident $name:literal $raw:ident) => {
        match $raw {
            None => Ok(Self::$variant),
            Some(raw) => $crate::rpc::method::unit_from(
                raw,
                concat!("unit variant Request::", stringify!($variant)),
            )
            .map(|()| Self::$variant),
        }
    };
    (@decode $variant:ident $name:literal $raw:ident $params:ident) => {
        match $raw {
            Some(raw) => $crate::rpc::method::from_map::<_, $params>(
                &mut ::serde_json::Deserializer::from_str(raw.get()),
            )
            .map(Self::$variant)
            .map_err(|e| $crate::rpc::json_error(&e)),
            None => Err("missing field `params`".to_owned()),
        }
    };
    (@request $variant:ident $params:ident) => {
        fn request(params: $params) -> $crate::rpc::Request {
            $crate::rpc::Request::$variant(params)
        }
    };
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident $(($params:ident))? = $name:literal : $policy:ident -> $output:ty,
            audits [$($op:ident),*];
    )*) => {
        /// A request to the service, decoded from `{"method": …, "params": {…}}`. The
        /// caller's origin travels beside it, never inside it.
        #[derive(Debug, ::serde::Deserialize)]
        #[cfg_attr(feature = "ts", derive(ts_rs::TS))]
        #[serde(tag = "method", content = "params", deny_unknown_fields)]
        #[non_exhaustive]
        #[allow(
            clippy::large_enum_variant,
            reason = "decoded once per call and moved into the service, never stored; on \
                      32-bit targets the largest params pass clippy's threshold"
        )]
        pub enum Request {
            $(
                $(#[doc = $doc])*
                #[serde(rename = $name)]
                $variant $((
                    #[serde(deserialize_with = "crate::rpc::method::from_map")] $params
                ))?,
            )*
        }

        impl Request {
            /// The method name as sent on the wire.
            pub fn method(&self) -> &'static str {
                match self {
                    $(Self::$variant { .. } => $name,)*
                }
            }

            /// Decodes the request for `method` from its `params` as JSON text (`None` when
            /// the frame has none): what [`crate::rpc::frame::Call::from_json`] does once
            /// `method` is known, so that each params type is decoded straight from the
            /// text, never from a buffered copy.
            ///
            /// # Errors
            /// An unknown method, missing or malformed params, params for a method that
            /// takes none: what is wrong, in words.
            pub fn from_json_params(
                method: &str,
                params: Option<&::serde_json::value::RawValue>,
            ) -> Result<Self, String> {
                match method {
                    $($name => $crate::rpc::method::methods!(@decode $variant $name params $($params)?),)*
                    _ => Err(format!("unknown method `{method}`")),
                }
            }

            /// The caller policy of this method.
            pub fn policy(&self) -> $crate::rpc::policy::Policy {
                match self {
                    $(Self::$variant { .. } => $crate::rpc::policy::Policy::$policy,)*
                }
            }

            /// Every operation this method may record in the audit log.
            pub fn audit_ops(&self) -> &'static [$crate::audit::Op] {
                match self {
                    $(Self::$variant { .. } => &[$($crate::audit::Op::$op),*],)*
                }
            }
        }

        /// One marker type per method, implementing
        /// [`Method`](crate::rpc::method::Method): the typed way to call it
        /// ([`crate::service::Kms::call`]).
        pub mod methods {
            #[allow(unused_imports, reason = "not every row has params")]
            use super::params::*;
            use crate::service::*;

            $(
                $(#[doc = $doc])*
                #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
                pub struct $variant;

                impl $crate::rpc::method::Method for $variant {
                    const NAME: &'static str = $name;
                    const POLICY: $crate::rpc::policy::Policy =
                        $crate::rpc::policy::Policy::$policy;
                    const AUDIT: &'static [$crate::audit::Op] = &[$($crate::audit::Op::$op),*];
                    type Params = $crate::rpc::method::methods!(@params $($params)?);
                    type Output = $output;
                    $crate::rpc::method::methods!(@request $variant $($params)?);
                }

                $(
                    impl $crate::rpc::method::Params for $params {
                        const EXPECTING: &'static str =
                            concat!("struct variant Request::", stringify!($variant));
                    }
                )?
            )*
        }

        /// Every method, in table order.
        pub const METHODS: &[$crate::rpc::method::MethodSpec] = &[
            $(
                $crate::rpc::method::MethodSpec {
                    name: $name,
                    policy: $crate::rpc::policy::Policy::$policy,
                    audit: &[$($crate::audit::Op::$op),*],
                    params: $crate::rpc::method::methods!(@params_name $($params)?),
                    result: {
                        use crate::service::*;
                        <$output as Payload>::TYPE
                    },
                    doc: concat!($($doc, "\n",)*),
                },
            )*
        ];
    };
}

pub(crate) use methods;

#[cfg(test)]
mod tests {
    //! Every row of the table on the wire: its sample decodes as it, and its params are an
    //! object of known fields (or absent, for a method without params).
    #![allow(clippy::unwrap_used, clippy::panic, reason = "tests")]

    use serde_json::Value;

    use super::*;
    use crate::rpc::frame::{self, Call, FrameHeader};
    use crate::rpc::samples::SAMPLES;
    use crate::rpc::{METHODS, methods};
    use crate::service::{StatusResponse, UnlockedResponse};

    /// Decodes `frame` the two ways the enclave meets it: as a bare request, and inside a
    /// request frame (`Call`, which flattens the request beside `v` and `id`).
    fn decode(frame: &Value) -> Result<&'static str, String> {
        let direct = serde_json::from_value::<Request>(frame.clone()).map(|r| r.method());
        let mut framed = frame.clone();
        framed["v"] = 1.into();
        framed["id"] = 2.into();
        let text = framed.to_string();
        let call = frame::parse(
            serde_json::from_value::<FrameHeader>(framed.clone()),
            || serde_json::from_value::<Call>(framed),
        )
        .map(|(_, r)| r.method())
        .map_err(|(_, e)| e.to_string().replace("bad request: ", ""));
        assert_eq!(
            direct.as_ref().map_err(ToString::to_string),
            call.as_ref().map_err(Clone::clone),
            "{frame}"
        );
        // The enclave's decoder (from JSON text, params decoded once `method` is known)
        // accepts and refuses the same frames, saying the same.
        let json = Call::from_json(&text).map(|c| c.request.method());
        assert_eq!(json, call, "{text}");
        call
    }

    fn sample(spec: &MethodSpec) -> Value {
        let i = METHODS.iter().position(|m| m == spec).unwrap();
        serde_json::from_str(SAMPLES[i]).unwrap()
    }

    #[test]
    fn every_sample_decodes_as_its_method() {
        for spec in METHODS {
            assert_eq!(decode(&sample(spec)), Ok(spec.name));
        }
    }

    #[test]
    fn names_are_unique() {
        for (i, spec) in METHODS.iter().enumerate() {
            assert!(
                METHODS[..i].iter().all(|m| m.name != spec.name),
                "{} twice",
                spec.name
            );
            assert_eq!(MethodSpec::find(spec.name), Some(spec));
        }
        assert_eq!(MethodSpec::find("envelope.seal"), None);
    }

    #[test]
    fn params_are_an_object_of_known_fields() {
        for spec in METHODS {
            let frame = sample(spec);
            let mut without = frame.clone();
            without.as_object_mut().unwrap().remove("params");
            let mut null = frame.clone();
            null["params"] = Value::Null;
            let mut extra = frame.clone();
            match spec.params {
                None => {
                    assert_eq!(decode(&without), Ok(spec.name));
                    assert_eq!(decode(&null), Ok(spec.name));
                    extra["params"] = serde_json::json!({ "unknownField": 1 });
                    assert!(decode(&extra).is_err(), "{}", spec.name);
                }
                Some(params) => {
                    let expecting = format!("expected struct variant Request::{}", {
                        params.trim_end_matches("Params")
                    });
                    assert_eq!(decode(&without), Err("missing field `params`".into()));
                    let e = decode(&null).unwrap_err();
                    assert!(e.contains(&expecting), "{e}");
                    extra["params"]["unknownField"] = 1.into();
                    let e = decode(&extra).unwrap_err();
                    assert!(e.starts_with("unknown field `unknownField`"), "{e}");
                    let fields = frame["params"].as_object().unwrap();
                    let mut array = frame.clone();
                    array["params"] = Value::Array(fields.values().cloned().collect());
                    let e = decode(&array).unwrap_err();
                    assert!(
                        e.contains(&expecting),
                        "{} accepts an array: {e}",
                        spec.name
                    );
                }
            }
        }
    }

    #[test]
    fn markers_carry_their_row() {
        fn row<M: Method>() -> MethodSpec {
            let spec = *MethodSpec::find(M::NAME).unwrap();
            assert_eq!(spec.policy, M::POLICY);
            assert_eq!(spec.result, <M::Output as Payload>::TYPE);
            spec
        }
        assert_eq!(row::<methods::Ping>().result, "done");
        assert_eq!(row::<methods::Status>().params, None);
        let setup = row::<methods::Setup>();
        assert_eq!(setup.params, Some("SetupParams"));
        assert_eq!(setup.result, "unlocked");
        assert_eq!(setup.policy, Policy::EnclaveUi);
        assert_eq!(
            row::<methods::RemoveMethod>().policy,
            Policy::EnclaveUiFresh
        );
        assert_eq!(row::<methods::VapidRotate>().result, "vapidPublicKey");
        assert!(row::<methods::SignalSign>().doc.contains("page-signature"));
        assert_eq!(methods::Lock::request(()).method(), "lock");
        let r = methods::DeleteKey::request(crate::rpc::DeleteKeyParams { key_id: "k".into() });
        assert_eq!((r.method(), r.policy()), ("keys.delete", Policy::Page));
    }

    #[test]
    fn output_takes_its_own_result_only() {
        let unlocked = UnlockedResponse {
            method_id: "m-1".into(),
            session_expires_ms: None,
        };
        let reply = Response::Unlocked(unlocked.clone());
        assert_eq!(methods::Setup::output(reply.clone()), Ok(unlocked));
        let e = methods::Status::output(reply).unwrap_err();
        assert_eq!(e.to_string(), "expected a `status` reply, got `unlocked`");
        assert_eq!(methods::Lock::output(Response::Done), Ok(()));
        let status = Response::Status(StatusResponse {
            initialized: false,
            unlocked: false,
            session_expires_ms: None,
            retry_after_ms: None,
            fresh_until_ms: None,
            methods: Vec::new(),
        });
        assert_eq!(status.type_tag(), "status");
        let e = UnexpectedReply {
            expected: "done",
            got: "status",
        };
        assert_eq!(methods::Ping::output(status), Err(e));
    }
}
