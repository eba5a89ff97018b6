//! GraphQL surface of devices: `registerDevice`, `unregisterDevice`, `Account.devices`.
//! An admin may manage any account's devices; a client token only its own account's.

use async_graphql::{Context, InputObject, Object, Result, SimpleObject};

use super::errors::{blocking, gql};
use super::{admin, app, auth};
use crate::api::auth::{AuthError, Principal};
use crate::directory as dir;

/// A device registered for mobile notifications.
#[derive(SimpleObject)]
pub(super) struct Device {
    /// The push token the platform's service gave the app.
    token: String,
    /// `ios`, `android`, or another platform a loaded transport serves.
    platform: String,
    /// A transport chosen by name instead of the platform's default.
    transport: Option<String>,
    /// When it was (last) registered (RFC 3339).
    registered_at: String,
}

impl From<dir::Device> for Device {
    fn from(d: dir::Device) -> Self {
        Device {
            token: d.token,
            platform: d.platform,
            transport: d.transport,
            registered_at: crate::time::rfc3339(d.registered_at),
        }
    }
}

/// A device to register.
#[derive(InputObject)]
pub(super) struct RegisterDeviceInput {
    /// The account id (a client token may name only its own account).
    account: String,
    /// `ios`, `android`, ...: 1..32 bytes of a-z, 0-9, '_', '-'.
    platform: String,
    /// The push token (1..512 bytes).
    token: String,
    /// A transport name instead of the platform's default.
    transport: Option<String>,
}

/// A device to remove.
#[derive(InputObject)]
pub(super) struct UnregisterDeviceInput {
    /// The account id (a client token may name only its own account).
    account: String,
    /// The push token.
    token: String,
}

/// The app, when the caller is an admin or the client of `account`.
fn admin_or_self<'a>(
    ctx: &Context<'a>,
    account: &str,
) -> Result<&'a std::sync::Arc<crate::app::App>> {
    match auth(ctx) {
        Ok(Principal::Client(id)) if id != account => Err(gql(AuthError::Forbidden(format!(
            "a client token may only manage its own account's devices, not {account:?}"
        )))),
        Ok(_) => Ok(app(ctx)),
        Err(e) => Err(gql(e.clone())),
    }
}

/// The devices of an account (resolved on `Account.devices`).
pub(super) async fn devices_of(ctx: &Context<'_>, account: String) -> Result<Vec<Device>> {
    let directory = admin(ctx)?.directory.clone();
    let found = blocking(move || directory.devices(&account)).await?;
    Ok(found.into_iter().map(Device::from).collect())
}

/// Device mutations.
#[derive(Default)]
pub(super) struct DeviceMutation;

#[Object]
impl DeviceMutation {
    /// Registers a device (again: updates it). A token held by another account moves here.
    async fn register_device(
        &self,
        ctx: &Context<'_>,
        input: RegisterDeviceInput,
    ) -> Result<Device> {
        let directory = admin_or_self(ctx, &input.account)?.directory.clone();
        let device = dir::NewDevice {
            account: input.account,
            platform: input.platform,
            token: input.token,
            transport: input.transport,
        };
        if matches!(auth(ctx), Ok(Principal::Client(_))) {
            // A client's first call is a login: it makes the account exist.
            let directory = directory.clone();
            let id = device.account.clone();
            blocking(move || directory.ensure_account(&id)).await?;
        }
        Ok(blocking(move || directory.register_device(&device))
            .await?
            .into())
    }

    /// Removes a device. `NOT_FOUND` when the account has no such token.
    async fn unregister_device(
        &self,
        ctx: &Context<'_>,
        input: UnregisterDeviceInput,
    ) -> Result<bool> {
        let directory = admin_or_self(ctx, &input.account)?.directory.clone();
        blocking(move || directory.unregister_device(&input.account, &input.token)).await?;
        Ok(true)
    }
}
