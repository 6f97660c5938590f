//! Hub SSO tokens: HS256 JWTs signed with `PORTAL_SSO_SECRET`.

use chrono::Utc;
use entities::enums::{Product, Role};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation, decode, encode};
use serde::{Deserialize, Serialize};

use crate::config::SsoConfig;
use crate::kernel::errors::{ApiError, ApiResult, Code};

/// The claims Hub puts in an SSO token (DESIGN.md §4).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct HubClaims {
    pub sub: String,
    pub email: String,
    pub name: String,
    pub tenant_id: String,
    pub tenant_name: String,
    pub roles: Vec<String>,
    pub products: Vec<String>,
    pub exp: i64,
    pub iat: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<i64>,
    pub jti: String,
    pub iss: String,
    pub aud: serde_json::Value,
    /// When the Hub session ends: the `code_session` cookie lives until then.
    pub session_exp: i64,
}

/// Claims that passed every check, with roles and products parsed.
#[derive(Clone, Debug)]
pub struct VerifiedClaims {
    pub claims: HubClaims,
    pub roles: Vec<Role>,
    pub products: Vec<Product>,
}

fn parse_list<T: Copy>(raw: &[String], known: &[(&str, T)]) -> Vec<T> {
    raw.iter()
        .filter_map(|r| known.iter().find(|(name, _)| name == r).map(|(_, v)| *v))
        .collect()
}

/// The first claim holding a NUL character: PostgreSQL cannot store one, and a signed token
/// with one is refused as a whole (docs/decisions.md, "Input hygiene").
fn nul_claim(c: &HubClaims) -> Option<&'static str> {
    let single = [
        ("sub", &c.sub),
        ("email", &c.email),
        ("name", &c.name),
        ("tenant_id", &c.tenant_id),
        ("tenant_name", &c.tenant_name),
        ("jti", &c.jti),
        ("iss", &c.iss),
    ];
    let lists = [("roles", &c.roles), ("products", &c.products)];
    single
        .into_iter()
        .find(|(_, v)| v.contains('\0'))
        .map(|(name, _)| name)
        .or_else(|| {
            lists
                .into_iter()
                .find(|(_, v)| v.iter().any(|s| s.contains('\0')))
                .map(|(name, _)| name)
        })
        .or_else(|| c.aud.to_string().contains("\\u0000").then_some("aud"))
}

/// Checks signature, algorithm, `exp`, `nbf`, `iss`, `aud` and the required claims.
pub fn verify(config: &SsoConfig, token: &str) -> ApiResult<VerifiedClaims> {
    let mut validation = Validation::new(Algorithm::HS256);
    validation.set_issuer(&[&config.issuer]);
    validation.set_audience(&[&config.audience]);
    validation.set_required_spec_claims(&["exp", "iat", "iss", "aud", "sub", "jti"]);
    validation.validate_nbf = true;
    validation.leeway = 30;
    let data = decode::<HubClaims>(
        token,
        &DecodingKey::from_secret(&config.secret),
        &validation,
    )
    .map_err(|e| {
        use jsonwebtoken::errors::ErrorKind as K;
        let why = match e.kind() {
            K::ExpiredSignature => "the token has expired",
            K::ImmatureSignature => "the token is not valid yet",
            K::InvalidIssuer => "the token was not issued by Hub",
            K::InvalidAudience => "the token is meant for another audience",
            K::InvalidSignature => "the token's signature does not verify",
            K::InvalidAlgorithm => "the token's algorithm is not HS256",
            K::MissingRequiredClaim(_) | K::Json(_) => "the token lacks a required claim",
            _ => "the token is malformed",
        };
        ApiError::new(Code::Unauthenticated, why)
    })?;
    let claims = data.claims;
    if let Some(name) = nul_claim(&claims) {
        return Err(ApiError::new(
            Code::Unauthenticated,
            format!("the token's claim `{name}` contains a NUL character"),
        ));
    }
    if claims.iat > Utc::now().timestamp() + 30 {
        return Err(ApiError::new(
            Code::Unauthenticated,
            "the token was issued in the future",
        ));
    }
    if claims.session_exp <= Utc::now().timestamp() {
        return Err(ApiError::new(
            Code::Unauthenticated,
            "the Hub session has ended",
        ));
    }
    let roles = parse_list(
        &claims.roles,
        &[
            ("admin", Role::Admin),
            ("technician", Role::Technician),
            ("viewer", Role::Viewer),
        ],
    );
    if roles.is_empty() {
        return Err(ApiError::new(
            Code::Forbidden,
            "the Hub user has no Code or Migrate role",
        ));
    }
    let products = parse_list(
        &claims.products,
        &[("code", Product::Code), ("migrate", Product::Migrate)],
    );
    if products.is_empty() {
        return Err(ApiError::new(
            Code::Forbidden,
            "the Hub user has access to neither Code nor Migrate",
        ));
    }
    if [&claims.sub, &claims.tenant_id, &claims.jti]
        .iter()
        .any(|v| v.trim().is_empty())
    {
        return Err(ApiError::new(
            Code::Unauthenticated,
            "the token lacks a required claim",
        ));
    }
    Ok(VerifiedClaims {
        claims,
        roles,
        products,
    })
}

/// Parameters of a locally minted token (`stack-gateway token`, tests).
#[derive(Clone, Debug)]
pub struct MintRequest {
    pub sub: String,
    pub email: String,
    pub name: String,
    pub tenant_id: String,
    pub tenant_name: String,
    pub roles: Vec<String>,
    pub products: Vec<String>,
    pub ttl_seconds: i64,
    pub session_seconds: i64,
}

/// Signs a Hub-style SSO token with the configured secret.
pub fn mint(config: &SsoConfig, req: &MintRequest) -> String {
    let now = Utc::now().timestamp();
    let claims = HubClaims {
        sub: req.sub.clone(),
        email: req.email.clone(),
        name: req.name.clone(),
        tenant_id: req.tenant_id.clone(),
        tenant_name: req.tenant_name.clone(),
        roles: req.roles.clone(),
        products: req.products.clone(),
        exp: now + req.ttl_seconds,
        iat: now,
        nbf: Some(now),
        jti: uuid::Uuid::new_v4().to_string(),
        iss: config.issuer.clone(),
        aud: serde_json::Value::String(config.audience.clone()),
        session_exp: now + req.session_seconds,
    };
    encode(
        &Header::new(Algorithm::HS256),
        &claims,
        &EncodingKey::from_secret(&config.secret),
    )
    .expect("HS256 signing with an in-memory key cannot fail")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn config() -> SsoConfig {
        SsoConfig {
            secret: b"a-test-secret-that-is-at-least-32-bytes".to_vec(),
            issuer: "the-one-hub".into(),
            audience: "stack-gateway".into(),
        }
    }

    fn signed(claims: &serde_json::Value) -> String {
        let key = EncodingKey::from_secret(&config().secret);
        encode(&Header::new(Algorithm::HS256), claims, &key).expect("signs")
    }

    /// Any JSON value a claim could hold, a few levels deep.
    fn value() -> impl Strategy<Value = serde_json::Value> {
        let leaf = prop_oneof![
            Just(serde_json::Value::Null),
            any::<bool>().prop_map(serde_json::Value::from),
            any::<i64>().prop_map(serde_json::Value::from),
            any::<f64>().prop_map(|f| json!(f)),
            any::<String>().prop_map(serde_json::Value::from),
        ];
        leaf.prop_recursive(3, 16, 4, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..4).prop_map(serde_json::Value::from),
                proptest::collection::hash_map(".{0,8}", inner, 0..4)
                    .prop_map(|m| serde_json::Value::Object(m.into_iter().collect())),
            ]
        })
    }

    proptest! {
        #[test]
        fn any_text_is_refused_without_panic(token in any::<String>()) {
            prop_assert!(verify(&config(), &token).is_err());
        }

        #[test]
        fn token_shaped_text_is_refused_without_panic(
            token in "[A-Za-z0-9_=-]{0,40}\\.[A-Za-z0-9_=-]{0,80}\\.[A-Za-z0-9_=-]{0,44}"
        ) {
            prop_assert!(verify(&config(), &token).is_err());
        }

        /// Signed with the right key, so every claim check runs on hostile values.
        #[test]
        fn signed_hostile_claims_never_panic(
            values in proptest::collection::vec(value(), 14),
            exp in any::<i64>(),
            session_exp in any::<i64>(),
        ) {
            let names = ["sub", "email", "name", "tenant_id", "tenant_name", "roles", "products",
                         "iat", "nbf", "jti", "iss", "aud", "exp", "session_exp"];
            let mut claims: serde_json::Map<String, serde_json::Value> =
                names.iter().map(|n| n.to_string()).zip(values).collect();
            claims.insert("exp".into(), exp.into());
            claims.insert("session_exp".into(), session_exp.into());
            let _ = verify(&config(), &signed(&serde_json::Value::Object(claims)));
        }

        #[test]
        fn signed_plausible_claims_never_panic(
            roles in proptest::collection::vec(".{0,12}", 0..3),
            sub in ".{0,12}",
            iat in any::<i64>(),
            exp in any::<i64>(),
            session_exp in any::<i64>(),
            nbf in any::<Option<i64>>(),
        ) {
            let claims = json!({
                "sub": sub, "email": "e", "name": "n", "tenant_id": "t", "tenant_name": "T",
                "roles": roles, "products": ["code"], "iat": iat, "nbf": nbf, "jti": "j",
                "iss": "the-one-hub", "aud": "stack-gateway", "exp": exp, "session_exp": session_exp,
            });
            let _ = verify(&config(), &signed(&claims));
        }
    }
}
