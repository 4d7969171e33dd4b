"""The product catalogue as data: products, rate tables, services and promotions in YAML, validated,
checked for contradictions, and quoted exactly through the contract engine. See docs/catalogue.md."""
