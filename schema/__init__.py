"""The GraphQL surface: types, inputs, unions, permissions and thin fields. No ORM calls here."""
