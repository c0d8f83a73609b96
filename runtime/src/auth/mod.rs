//! Who is calling: credentials (API keys in [`api_keys`], JWTs from an identity provider in
//! [`jwt`]) and the [`principal::Principal`] they resolve to ([`authenticator`]). The HTTP
//! guard that asks for them is `http::guard`; the audit trail of what principals did is
//! `storage::audit`.

pub mod api_keys;
pub mod authenticator;
pub mod jwt;
pub mod principal;
