//! A multi-entity spec with every field type and constraint expands, and the generated
//! validators, defaults, enums and update semantics behave as documented.

#[entity_spec::entity_spec("tests/specs/catalog.json")]
pub mod catalog {}

use catalog::*;
use entity_spec::{Secret, Validate};
use entity_spec::__private::{chrono, serde_json, uuid::Uuid};

fn codes(errors: entity_spec::ValidationErrors) -> Vec<(String, String)> {
    errors.into_iter().map(|v| (v.field.into_owned(), v.code.into_owned())).collect()
}

fn main() {
    // Defaults come from the spec, including negative numbers, floats and nested JSON.
    let product = ProductCreate::new("ABC-1234", "Kettle", 19.5);
    assert_eq!(product.stock, 0);
    assert_eq!(product.storage_temp_c, -18);
    assert_eq!(product.discount, 0.5);
    assert!(!product.is_published);
    assert_eq!(product.status, ProductStatus::Draft);
    assert_eq!(product.attributes["weight"]["grams"], serde_json::json!(12.5));
    assert_eq!(product.attributes["note"], serde_json::Value::Null);
    assert!(product.validate().is_ok());

    // Every violation is reported at once, in field order.
    let mut bad = ProductCreate::new("abc", " ", -1.0);
    bad.stock = -5;
    bad.rating = Some(7.5);
    bad.discount = f64::NAN;
    let found = codes(Validate::validate(&bad).unwrap_err());
    let expected = [
        ("sku", "pattern"),
        ("title", "blank"),
        ("price", "min"),
        ("stock", "min"),
        ("rating", "max"),
        ("discount", "not_finite"),
    ];
    assert_eq!(found, expected.map(|(f, c)| (f.to_owned(), c.to_owned())));

    // Lengths count characters, not bytes.
    let customer = CustomerCreate::new("ana@example.com", "Añá");
    assert!(customer.validate().is_ok());
    let mut customer = CustomerCreate::new("not-an-email", "A");
    customer.api_key = Some(Secret::from("short"));
    let found = codes(customer.validate().unwrap_err());
    assert_eq!(found, [("email", "pattern"), ("display_name", "min_length"), ("api_key", "min_length")].map(|(f, c)| (f.to_owned(), c.to_owned())));

    // Enums round-trip through their wire names.
    assert_eq!("in_review".parse::<ProductStatus>(), Ok(ProductStatus::InReview));
    assert_eq!(ProductStatus::InReview.to_string(), "in_review");
    assert!("unknown".parse::<OrderStatus>().unwrap_err().to_string().contains("placed, paid, shipped, cancelled"));

    // Inputs reject unknown and server-set fields; omitted optional fields take defaults.
    let json = r#"{"customer_id": "9f1c2d3e-0000-4000-8000-000000000000", "total": 10, "placed_at": "2026-01-02T03:04:05Z", "shipping_address": {"city": "Lyon"}}"#;
    let order: OrderCreate = serde_json::from_str(json).unwrap();
    assert_eq!((order.status, order.priority, order.gift), (OrderStatus::Placed, 3, None));
    assert!(serde_json::from_str::<OrderCreate>(&json.replace("\"total\"", "\"id\": null, \"total\"")).is_err());

    // Server-set fields are filled by `into_entity`; read-only fields take their default.
    let now = chrono::Utc::now();
    let id = Uuid::new_v4();
    let mut stored = ProductCreate::new("ABC-1234", "Kettle", 19.5).into_entity(id, now);
    assert_eq!((stored.id, stored.created_at, stored.internal_code.as_str()), (id, now, "unassigned"));

    // A sensitive field is redacted in Debug and absent from JSON.
    let mut customer = CustomerCreate::new("ana@example.com", "Ana");
    customer.api_key = Some(Secret::from("0123456789abcdef-secret"));
    let entity = customer.into_entity(Uuid::new_v4(), now);
    assert!(!format!("{entity:?}").contains("secret"));
    let body = serde_json::to_value(&entity).unwrap();
    assert!(body.get("api_key").is_none(), "{body}");

    // PUT semantics: omitted sensitive fields keep the stored value, explicit null clears it.
    let mut kept = entity.clone();
    let update: CustomerUpdate = serde_json::from_str(r#"{"email": "ana@example.org", "display_name": "Ana"}"#).unwrap();
    kept.apply_update(update, now);
    assert_eq!(kept.api_key.as_ref().map(|k| k.expose().as_str()), Some("0123456789abcdef-secret"));
    let mut cleared = entity.clone();
    let update: CustomerUpdate = serde_json::from_str(r#"{"email": "ana@example.org", "display_name": "Ana", "api_key": null}"#).unwrap();
    cleared.apply_update(update, now);
    assert_eq!(cleared.api_key, None);

    // Updates re-stamp `auto_now` and keep `auto_now_add` and read-only fields.
    let later = now + chrono::Duration::seconds(5);
    let update: ProductUpdate = serde_json::from_str(r#"{"sku": "XYZ-0001", "title": "Pot", "price": 3}"#).unwrap();
    stored.internal_code = "P-7".to_owned();
    stored.apply_update(update, later);
    assert_eq!((stored.sku.as_str(), stored.created_at, stored.internal_code.as_str()), ("XYZ-0001", now, "P-7"));
    let mut order = OrderCreate::new(Uuid::new_v4(), 1.0, now, serde_json::json!({})).into_entity(Uuid::new_v4(), now);
    let update: OrderUpdate = serde_json::from_value(serde_json::json!({"customer_id": order.customer_id, "total": 2.0, "placed_at": now, "shipping_address": {}})).unwrap();
    order.apply_update(update, later);
    assert_eq!((order.updated_at, order.created_at), (later, now));
}
