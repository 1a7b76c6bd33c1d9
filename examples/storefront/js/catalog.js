// The catalog: a page of products, and one card per product (built with DOM APIs only).

import { graphql } from "./api.js";

export const PAGE_SIZE = 12;

const CARD = `
  fragment Card on Product {
    id
    name
    price
    inStock
    images { resizedUrl(size: SMALL) altText width height }
  }`;

// `stock` needs inventory:read: asked for only by those who hold it (no FORBIDDEN errors).
const PRODUCTS = `
  query Products($first: Int!, $after: String) {
    products(first: $first, after: $after) {
      edges { node { ...Card } }
      pageInfo { hasNextPage endCursor }
    }
  }
  ${CARD}`;

const PRODUCTS_WITH_STOCK = `
  query ProductsWithStock($first: Int!, $after: String) {
    products(first: $first, after: $after) {
      edges { node { ...Card stock } }
      pageInfo { hasNextPage endCursor }
    }
  }
  ${CARD}`;

/** One page of products after `after` (null: the first page), with `stock` if asked. */
export async function loadProducts(after, withStock) {
  const query = withStock ? PRODUCTS_WITH_STOCK : PRODUCTS;
  const data = await graphql(query, { first: PAGE_SIZE, after });
  return {
    products: data.products.edges.map((edge) => edge.node),
    pageInfo: data.products.pageInfo,
  };
}

function byTestId(root, id) {
  return root.querySelector(`[data-testid="${id}"]`);
}

function picture(image) {
  if (!image) {
    const placeholder = document.createElement("span");
    placeholder.className = "placeholder";
    placeholder.dataset.testid = "placeholder";
    placeholder.textContent = "No image";
    return placeholder;
  }
  const img = document.createElement("img");
  img.src = image.resizedUrl;
  img.alt = image.altText;
  img.decoding = "async";
  img.dataset.testid = "product-image";
  if (image.width && image.height) {
    img.width = image.width;
    img.height = image.height;
  }
  return img;
}

/** A product's card: its element, and how to show a new stock level on it. */
export class ProductCard {
  constructor(template, product, { showStock, canOrder }) {
    this.element = template.content.firstElementChild.cloneNode(true);
    this.element.dataset.productId = product.id;
    this.element.querySelector(".card-media").append(picture(product.images[0]));
    byTestId(this.element, "product-name").textContent = product.name;
    byTestId(this.element, "price").textContent = product.price;
    this.form = byTestId(this.element, "order-form");
    this.form.hidden = !canOrder;
    this.message = byTestId(this.element, "order-message");
    this.busy = false;
    this.stockCount = byTestId(this.element, "stock-count");
    this.stockCount.hidden = !showStock;
    if (showStock) {
      this.setStock(product.stock, false);
    } else {
      this.setInStock(product.inStock);
    }
  }

  setInStock(inStock) {
    this.inStock = inStock;
    const availability = byTestId(this.element, "availability");
    availability.textContent = inStock ? "in stock" : "sold out";
    availability.classList.toggle("in", inStock);
    availability.classList.toggle("out", !inStock);
    this.setBusy(this.busy);
  }

  /** While an order is on its way, or when sold out, the Order button is off. */
  setBusy(busy) {
    this.busy = busy;
    byTestId(this.form, "order").disabled = busy || !this.inStock;
  }

  /** Show `quantity` units in stock; `changed` briefly highlights the number. */
  setStock(quantity, changed = true) {
    byTestId(this.element, "stock").textContent = String(quantity);
    this.setInStock(quantity > 0);
    if (changed) {
      this.stockCount.classList.remove("changed");
      void this.stockCount.offsetWidth; // restart the highlight's animation
      this.stockCount.classList.add("changed");
    }
  }

  /** Show the outcome of an order (or why there is none) under the card. */
  say(text, kind) {
    this.message.textContent = text;
    this.message.classList.toggle("error", kind === "error");
    this.message.classList.toggle("success", kind === "success");
    this.message.hidden = false;
  }
}
