"""The catalog: products and their images."""
