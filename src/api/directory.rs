//! GraphQL surface of the directory: accounts, tags, attribute names and user attributes.

use async_graphql::connection::{Connection, Edge};
use async_graphql::{ComplexObject, Context, InputObject, Object, Result, SimpleObject};

use super::errors::{blocking, gql};
use super::target::AttributeInput;
use super::{admin, cursor};
use crate::directory as dir;

/// Accounts a page of `accounts` returns when `first` is not given.
const DEFAULT_PAGE: usize = 100;
/// The largest page of `accounts`.
const MAX_PAGE: usize = 1000;

/// An account of the app.
#[derive(SimpleObject)]
#[graphql(name = "Account", complex)]
pub(super) struct AccountNode {
    /// The account id (1..32 bytes).
    id: String,
    /// Display name.
    nick: Option<String>,
    /// When it was first imported or logged in (RFC 3339).
    created_at: String,
    /// Its tags, sorted.
    tags: Vec<String>,
    /// Its attribute values.
    attributes: Vec<Attribute>,
}

impl From<dir::Account> for AccountNode {
    fn from(a: dir::Account) -> Self {
        AccountNode {
            id: a.id,
            nick: a.nick,
            created_at: crate::time::rfc3339(a.created_at),
            tags: a.tags,
            attributes: a.attributes.into_iter().map(Attribute::from).collect(),
        }
    }
}

#[ComplexObject]
impl AccountNode {
    /// Its devices registered for mobile notifications.
    async fn devices(&self, ctx: &Context<'_>) -> Result<Vec<super::devices::Device>> {
        super::devices::devices_of(ctx, self.id.clone()).await
    }
}

/// An attribute value of an account.
#[derive(SimpleObject, Clone)]
pub(super) struct Attribute {
    /// One of the app's attribute names.
    name: String,
    /// The value (1..50 bytes).
    value: String,
}

impl From<(String, String)> for Attribute {
    fn from((name, value): (String, String)) -> Self {
        Attribute { name, value }
    }
}

/// A named attribute slot of the app.
#[derive(SimpleObject)]
pub(super) struct AttributeName {
    /// Slot 0..9.
    slot: i32,
    /// The name (1..50 bytes, unique among slots).
    name: String,
}

fn attribute_names(names: Vec<(u8, String)>) -> Vec<AttributeName> {
    names
        .into_iter()
        .map(|(slot, name)| AttributeName {
            slot: i32::from(slot),
            name,
        })
        .collect()
}

/// Extra fields of the accounts connection.
#[derive(SimpleObject)]
pub(super) struct AccountsTotal {
    /// How many accounts exist.
    total_count: u64,
}

/// The tags of one account.
#[derive(SimpleObject)]
pub(super) struct UserTags {
    /// The account id.
    account: String,
    /// Its tags, sorted.
    tags: Vec<String>,
}

/// The attributes of one account.
#[derive(SimpleObject)]
pub(super) struct UserAttributes {
    /// The account id.
    account: String,
    /// Its attribute values.
    attributes: Vec<Attribute>,
}

/// An account to import.
#[derive(InputObject)]
pub(super) struct AccountInput {
    /// The account id (1..32 bytes of UTF-8).
    id: String,
    /// Display name; omitted keeps the current one on re-import.
    nick: Option<String>,
}

/// Names a slot.
#[derive(InputObject)]
pub(super) struct AttributeNameInput {
    /// Slot 0..9.
    slot: i64,
    /// The name (1..50 bytes, unique among slots).
    name: String,
}

/// Tags to add to or remove from one account.
#[derive(InputObject)]
pub(super) struct UserTagsInput {
    /// The account id.
    account: String,
    /// Tags (1..50 bytes each).
    tags: Vec<String>,
}

/// Attribute values to set on one account.
#[derive(InputObject)]
pub(super) struct UserAttributesInput {
    /// The account id.
    account: String,
    /// Values by attribute name; other values of the account are kept.
    attributes: Vec<AttributeInput>,
}

/// Attribute values to remove from one account.
#[derive(InputObject)]
pub(super) struct UserAttributeNamesInput {
    /// The account id.
    account: String,
    /// Attribute names whose values are removed.
    names: Vec<String>,
}

/// What an import did.
#[derive(SimpleObject)]
pub(super) struct ImportAccountsPayload {
    /// Accounts created by this call.
    created: usize,
    /// Accounts that already existed (kept, with their tags and attributes).
    existing: usize,
}

/// What a delete did.
#[derive(SimpleObject)]
pub(super) struct DeleteAccountsPayload {
    /// Accounts deleted.
    deleted: usize,
}

/// What a batch update did.
#[derive(SimpleObject)]
pub(super) struct BatchPayload {
    /// Accounts whose data changed (a no-op entry does not count).
    changed: usize,
}

fn tags_input(input: Vec<UserTagsInput>) -> Vec<dir::UserTags> {
    input
        .into_iter()
        .map(|u| dir::UserTags {
            account: u.account,
            tags: u.tags,
        })
        .collect()
}

/// Directory queries.
#[derive(Default)]
pub(super) struct DirectoryQuery;

#[Object]
impl DirectoryQuery {
    /// One account by id; null when it does not exist.
    async fn account(&self, ctx: &Context<'_>, id: String) -> Result<Option<AccountNode>> {
        let directory = admin(ctx)?.directory.clone();
        let found = blocking(move || directory.account(&id)).await?;
        Ok(found.map(AccountNode::from))
    }

    /// All accounts in import order (a Relay connection).
    async fn accounts(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Page size, 0..1000 (default 100).")] first: Option<i32>,
        #[graphql(desc = "Cursor of the last account of the previous page.")] after: Option<String>,
    ) -> Result<Connection<String, AccountNode, AccountsTotal>> {
        let directory = admin(ctx)?.directory.clone();
        let first = cursor::page_size(first, DEFAULT_PAGE, MAX_PAGE).map_err(gql)?;
        let after = cursor::after("account", after.as_deref())
            .map_err(gql)?
            .map(|n| u32::try_from(n).map_err(|_| gql(cursor::PageError::Cursor)))
            .transpose()?;
        let total = directory.account_count();
        let mut page = blocking(move || directory.accounts(after, first + 1)).await?;
        let has_next = page.len() > first;
        page.truncate(first);
        let mut connection = Connection::with_additional_fields(
            after.is_some(),
            has_next,
            AccountsTotal { total_count: total },
        );
        connection.edges.extend(page.into_iter().map(|a| {
            Edge::new(
                cursor::encode("account", u64::from(a.uid)),
                AccountNode::from(a),
            )
        }));
        Ok(connection)
    }

    /// The app's attribute names, by slot.
    async fn attribute_names(&self, ctx: &Context<'_>) -> Result<Vec<AttributeName>> {
        Ok(attribute_names(admin(ctx)?.directory.attribute_names()))
    }

    /// The tags of each account, in the order asked.
    async fn user_tags(&self, ctx: &Context<'_>, accounts: Vec<String>) -> Result<Vec<UserTags>> {
        let directory = admin(ctx)?.directory.clone();
        let found = blocking(move || directory.user_tags(&accounts)).await?;
        Ok(found
            .into_iter()
            .map(|u| UserTags {
                account: u.account,
                tags: u.tags,
            })
            .collect())
    }

    /// The attributes of each account, in the order asked.
    async fn user_attributes(
        &self,
        ctx: &Context<'_>,
        accounts: Vec<String>,
    ) -> Result<Vec<UserAttributes>> {
        let directory = admin(ctx)?.directory.clone();
        let found = blocking(move || directory.user_attributes(&accounts)).await?;
        Ok(found
            .into_iter()
            .map(|u| UserAttributes {
                account: u.account,
                attributes: u.attributes.into_iter().map(Attribute::from).collect(),
            })
            .collect())
    }
}

/// Directory mutations. Each is one transaction: on error nothing changes.
#[derive(Default)]
pub(super) struct DirectoryMutation;

#[Object]
impl DirectoryMutation {
    /// Imports accounts (idempotent; re-import keeps tags and attributes).
    async fn import_accounts(
        &self,
        ctx: &Context<'_>,
        accounts: Vec<AccountInput>,
    ) -> Result<ImportAccountsPayload> {
        let directory = admin(ctx)?.directory.clone();
        let accounts: Vec<dir::NewAccount> = accounts
            .into_iter()
            .map(|a| dir::NewAccount {
                id: a.id,
                nick: a.nick,
            })
            .collect();
        let outcome = blocking(move || directory.import_accounts(&accounts)).await?;
        Ok(ImportAccountsPayload {
            created: outcome.created,
            existing: outcome.existing,
        })
    }

    /// Deletes accounts with their tags and attributes; they receive nothing more.
    async fn delete_accounts(
        &self,
        ctx: &Context<'_>,
        ids: Vec<String>,
    ) -> Result<DeleteAccountsPayload> {
        let directory = admin(ctx)?.directory.clone();
        let deleted = blocking(move || directory.delete_accounts(&ids)).await?;
        Ok(DeleteAccountsPayload {
            deleted: deleted.len(),
        })
    }

    /// Names slots, merging by slot. Returns all names.
    async fn set_attribute_names(
        &self,
        ctx: &Context<'_>,
        names: Vec<AttributeNameInput>,
    ) -> Result<Vec<AttributeName>> {
        let directory = admin(ctx)?.directory.clone();
        let names: Vec<(i64, String)> = names.into_iter().map(|n| (n.slot, n.name)).collect();
        let all = blocking(move || directory.set_attribute_names(&names)).await?;
        Ok(attribute_names(all))
    }

    /// Clears slots and every account's value in them. Returns the remaining names.
    async fn remove_attribute_names(
        &self,
        ctx: &Context<'_>,
        slots: Vec<i64>,
    ) -> Result<Vec<AttributeName>> {
        let directory = admin(ctx)?.directory.clone();
        let all = blocking(move || directory.remove_attribute_names(&slots)).await?;
        Ok(attribute_names(all))
    }

    /// Sets attribute values, merging with each account's other values.
    async fn set_user_attributes(
        &self,
        ctx: &Context<'_>,
        input: Vec<UserAttributesInput>,
    ) -> Result<BatchPayload> {
        let directory = admin(ctx)?.directory.clone();
        let input: Vec<dir::UserAttributes> = input
            .into_iter()
            .map(|u| dir::UserAttributes {
                account: u.account,
                attributes: u
                    .attributes
                    .into_iter()
                    .map(|a| (a.name, a.value))
                    .collect(),
            })
            .collect();
        batch(blocking(move || directory.set_user_attributes(&input)).await)
    }

    /// Removes attribute values by name.
    async fn remove_user_attributes(
        &self,
        ctx: &Context<'_>,
        input: Vec<UserAttributeNamesInput>,
    ) -> Result<BatchPayload> {
        let directory = admin(ctx)?.directory.clone();
        let input: Vec<dir::UserAttributeNames> = input
            .into_iter()
            .map(|u| dir::UserAttributeNames {
                account: u.account,
                names: u.names,
            })
            .collect();
        batch(blocking(move || directory.remove_user_attributes(&input)).await)
    }

    /// Adds tags (at most 100 per account; adding a held tag is a no-op).
    async fn add_user_tags(
        &self,
        ctx: &Context<'_>,
        input: Vec<UserTagsInput>,
    ) -> Result<BatchPayload> {
        let directory = admin(ctx)?.directory.clone();
        let input = tags_input(input);
        batch(blocking(move || directory.add_user_tags(&input)).await)
    }

    /// Removes tags.
    async fn remove_user_tags(
        &self,
        ctx: &Context<'_>,
        input: Vec<UserTagsInput>,
    ) -> Result<BatchPayload> {
        let directory = admin(ctx)?.directory.clone();
        let input = tags_input(input);
        batch(blocking(move || directory.remove_user_tags(&input)).await)
    }

    /// Removes every tag of the accounts.
    async fn remove_all_user_tags(
        &self,
        ctx: &Context<'_>,
        accounts: Vec<String>,
    ) -> Result<BatchPayload> {
        let directory = admin(ctx)?.directory.clone();
        batch(blocking(move || directory.remove_all_user_tags(&accounts)).await)
    }
}

fn batch(changed: Result<usize>) -> Result<BatchPayload> {
    changed.map(|changed| BatchPayload { changed })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::DirectoryError;

    #[test]
    fn directory_errors_keep_their_code() {
        let e = gql(DirectoryError::Empty {
            field: "ids[0]".into(),
        });
        assert_eq!(e.message, "ids[0] must not be empty");
    }
}
