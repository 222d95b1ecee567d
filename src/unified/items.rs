//! The shapes of the objects in the contract's lists (`emails`, `phone_numbers`, `addresses`),
//! shared by every resource that has them, exactly as `crm.yml` names and types them.

use super::FieldKind::{Bool, Currency, DateTime, Id, String};
use super::{ItemModel, field};

/// Apideck's `Email`.
pub static EMAIL: ItemModel = ItemModel {
    schema_name: "Email",
    fields: &[
        field("id", Id, "Unique identifier for the email address."),
        field("email", String, "Email address."),
        field(
            "type",
            String,
            "Email type: primary, secondary, work, personal, billing or other.",
        ),
    ],
    key: Some("email"),
};

/// Apideck's `PhoneNumber`.
pub static PHONE_NUMBER: ItemModel = ItemModel {
    schema_name: "PhoneNumber",
    fields: &[
        field("id", Id, "Unique identifier of the phone number."),
        field(
            "country_code",
            String,
            "The country code of the phone number.",
        ),
        field("area_code", String, "The area code of the phone number."),
        field("number", String, "The phone number."),
        field("extension", String, "The extension of the phone number."),
        field(
            "type",
            String,
            "The type of phone number: primary, secondary, home, work, office, mobile, assistant, fax, direct-dial-in, personal, billing or other.",
        ),
    ],
    key: Some("number"),
};

/// Apideck's `Address`.
pub static ADDRESS: ItemModel = ItemModel {
    schema_name: "Address",
    fields: &[
        field("id", Id, "Unique identifier for the address."),
        field(
            "type",
            String,
            "The type of address: primary, secondary, home, office, shipping, billing, work or other.",
        ),
        field("string", String, "The address as one line."),
        field("name", String, "The name of the address."),
        field(
            "line1",
            String,
            "Line 1 of the address, e.g. number, street, suite.",
        ),
        field("line2", String, "Line 2 of the address."),
        field("line3", String, "Line 3 of the address."),
        field("line4", String, "Line 4 of the address."),
        field("line5", String, "Line 5 of the address."),
        field("street_number", String, "Street number."),
        field("city", String, "Name of city."),
        field("state", String, "Name of state."),
        field("postal_code", String, "Zip code or equivalent."),
        field(
            "country",
            String,
            "Country code according to ISO 3166-1 alpha-2.",
        ),
        field("latitude", String, "Latitude of the address."),
        field("longitude", String, "Longitude of the address."),
        field(
            "county",
            String,
            "Address field that holds a sublocality, such as a county.",
        ),
        field(
            "contact_name",
            String,
            "Name of the contact person at the address.",
        ),
        field(
            "salutation",
            String,
            "Salutation of the contact person at the address.",
        ),
        field("phone_number", String, "Phone number of the address."),
        field("fax", String, "Fax number of the address."),
        field("email", String, "Email address of the address."),
        field("website", String, "Website of the address."),
        field("notes", String, "Additional notes."),
    ],
    key: None,
};

/// Apideck's `Website`.
pub static WEBSITE: ItemModel = ItemModel {
    schema_name: "Website",
    fields: &[
        field("id", Id, "Unique identifier for the website."),
        field("url", String, "The website URL."),
        field(
            "type",
            String,
            "The type of website: primary, secondary, work, personal or other.",
        ),
    ],
    key: Some("url"),
};

/// Apideck's `SocialLink`.
pub static SOCIAL_LINK: ItemModel = ItemModel {
    schema_name: "SocialLink",
    fields: &[
        field("id", Id, "Unique identifier of the social link."),
        field(
            "url",
            String,
            "URL of the social link, e.g. https://www.twitter.com/apideck.",
        ),
        field("type", String, "Type of the social link, e.g. twitter."),
    ],
    key: Some("url"),
};

/// Apideck's `BankAccount`.
pub static BANK_ACCOUNT: ItemModel = ItemModel {
    schema_name: "BankAccount",
    fields: &[
        field("bank_name", String, "The name of the bank."),
        field("account_number", String, "A bank account number."),
        field(
            "account_name",
            String,
            "The name which you used in opening your bank account.",
        ),
        field("account_type", String, "The type of bank account."),
        field(
            "iban",
            String,
            "The International Bank Account Number (IBAN).",
        ),
        field("bic", String, "The Bank Identifier Code (BIC)."),
        field("routing_number", String, "A routing number."),
        field(
            "bsb_number",
            String,
            "A BSB is a 6 digit numeric code used for identifying the branch of an Australian or New Zealand bank.",
        ),
        field("branch_identifier", String, "A branch identifier."),
        field("bank_code", String, "A bank code."),
        field("currency", Currency, "The currency of the account."),
        field(
            "country",
            String,
            "Country code according to ISO 3166-1 alpha-2.",
        ),
    ],
    key: None,
};

/// The shape of a company's `row_type`.
pub static ROW_TYPE: ItemModel = ItemModel {
    schema_name: "CompanyRowType",
    fields: &[
        field("id", Id, "The row type's id."),
        field("name", String, "The row type's name."),
    ],
    key: None,
};

/// Apideck's `ActivityAttendee`.
pub static ACTIVITY_ATTENDEE: ItemModel = ItemModel {
    schema_name: "ActivityAttendee",
    fields: &[
        field("id", Id, "Unique identifier for the attendee.").read_only(),
        field("name", String, "Full name of the attendee."),
        field("first_name", String, "First name of the attendee."),
        field("middle_name", String, "Middle name of the attendee."),
        field("last_name", String, "Last name of the attendee."),
        field("prefix", String, "Prefix of the attendee."),
        field("suffix", String, "Suffix of the attendee."),
        field("email_address", String, "Email address of the attendee."),
        field(
            "is_organizer",
            Bool,
            "Whether the attendee is the organizer of the activity.",
        ),
        field(
            "status",
            String,
            "Status of the attendee: accepted, tentative or declined.",
        ),
        field("user_id", Id, "The identifier for a related user.").read_only(),
        field("contact_id", Id, "The identifier for a related contact.").read_only(),
        field(
            "updated_at",
            DateTime,
            "The last time the attendee was updated.",
        )
        .read_only(),
        field("created_at", DateTime, "The time the attendee was created.").read_only(),
    ],
    key: None,
};
