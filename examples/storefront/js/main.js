// The storefront page: sign in and out, the catalog's pages, orders, and live stock.

import {
  GraphQLError,
  can,
  currentSession,
  endSession,
  graphql,
  refreshSession,
  startSession,
} from "./api.js";
import { ProductCard, loadProducts } from "./catalog.js";
import { StockFeed } from "./live.js";

const LOGIN = `
  mutation Login($input: LoginInput!) {
    login(input: $input) {
      __typename
      ... on AuthPayload {
        accessToken
        refreshToken
        user { id email fullName roles { name } permissions }
      }
      ... on UserError { code message }
    }
  }`;

const LOGOUT = `mutation Logout { logout { __typename } }`;

const PLACE_ORDER = `
  mutation PlaceOrder($input: PlaceOrderInput!) {
    placeOrder(input: $input) {
      __typename
      ... on PlaceOrderSuccess {
        order { id status total lines { quantity product { id inStock } } }
      }
      ... on UserError { code message field }
    }
  }`;

const ORDER_ERRORS = new Set([
  "InsufficientStockError",
  "ValidationError",
  "RateLimitedError",
  "NotFoundError",
]);

const page = {
  after: null, // the cursor this page starts after (null: the first page)
  previous: [], // the `after` of each earlier page, for Previous
  endCursor: null,
  cards: new Map(), // product id -> ProductCard
  loading: 0, // the latest load: an older one that answers late is dropped
};

const feed = new StockFeed({
  onChange: showStockChange,
  onStatus: showLiveStatus,
  onExpired: renewLiveSession,
});

function byTestId(id) {
  return document.querySelector(`[data-testid="${id}"]`);
}

function say(element, text) {
  element.textContent = text;
  element.hidden = !text;
}

function failureText(error) {
  if (error instanceof GraphQLError && error.code === "UNAUTHENTICATED") {
    return "Your session has ended: please sign in again.";
  }
  return error.message || "Something went wrong.";
}

// Catalog

async function showPage() {
  const ticket = ++page.loading;
  const showStock = can("inventory:read");
  let result;
  try {
    result = await loadProducts(page.after, showStock);
  } catch (error) {
    if (ticket === page.loading) {
      say(byTestId("catalog-error"), `The catalog could not be loaded: ${failureText(error)}`);
      byTestId("previous").disabled = page.previous.length === 0;
    }
    return;
  }
  if (ticket !== page.loading) {
    return;
  }
  say(byTestId("catalog-error"), "");
  renderCards(result.products, showStock);
  page.endCursor = result.pageInfo.endCursor;
  byTestId("next").disabled = !result.pageInfo.hasNextPage;
  byTestId("previous").disabled = page.previous.length === 0;
  byTestId("page-number").textContent = `Page ${page.previous.length + 1}`;
  followStock();
}

function renderCards(products, showStock) {
  const template = document.getElementById("product-card");
  const options = { showStock, canOrder: currentSession() !== null };
  page.cards = new Map(products.map((p) => [p.id, new ProductCard(template, p, options)]));
  for (const [id, card] of page.cards) {
    card.form.addEventListener("submit", (event) => {
      event.preventDefault();
      placeOrder(id, card);
    });
  }
  byTestId("catalog").replaceChildren(...[...page.cards.values()].map((card) => card.element));
  byTestId("empty").hidden = products.length > 0;
}

function disablePager() {
  byTestId("next").disabled = true;
  byTestId("previous").disabled = true;
}

function nextPage() {
  disablePager();
  page.previous.push(page.after);
  page.after = page.endCursor;
  showPage();
}

function previousPage() {
  disablePager();
  page.after = page.previous.pop() ?? null;
  showPage();
}

// Live stock (for those who may read it)

function followStock() {
  const session = currentSession();
  if (session !== null && can("inventory:read")) {
    feed.watch(session.accessToken, [...page.cards.keys()]);
  } else {
    feed.stop();
  }
}

function showStockChange(productId, quantity) {
  page.cards.get(productId)?.setStock(quantity);
}

function showLiveStatus(state, text) {
  const status = byTestId("live-status");
  status.textContent = text;
  status.dataset.state = state;
  status.classList.toggle("on", state === "live");
  status.hidden = state === "off";
}

async function renewLiveSession() {
  try {
    await refreshSession();
  } catch (error) {
    signedOut(failureText(error));
    return;
  }
  followStock();
}

// Account

function showAccount() {
  const session = currentSession();
  byTestId("sign-in-form").hidden = session !== null;
  byTestId("signed-in").hidden = session === null;
  if (session !== null) {
    byTestId("who").textContent = session.user.fullName || session.user.email;
    byTestId("who").title = session.user.email;
    byTestId("roles").textContent = session.user.roles.map((role) => role.name).join(", ");
  }
}

async function signIn(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const button = form.querySelector("button");
  const error = byTestId("sign-in-error");
  button.disabled = true;
  say(error, "");
  try {
    const input = { email: form.elements.email.value, password: form.elements.password.value };
    const result = (await graphql(LOGIN, { input })).login;
    if (result.__typename === "AuthPayload") {
      startSession(result.accessToken, result.refreshToken, result.user);
      form.reset();
      signedIn();
    } else {
      say(error, result.message ?? `Sign-in failed (${result.__typename}).`);
    }
  } catch (failure) {
    say(error, failureText(failure));
  } finally {
    button.disabled = false;
  }
}

function signedIn() {
  showAccount();
  showPage();
}

function signedOut(reason) {
  feed.stop();
  endSession();
  showAccount();
  say(byTestId("sign-in-error"), reason);
  showPage();
}

async function signOut() {
  feed.stop();
  try {
    await graphql(LOGOUT);
  } catch {
    // The session ends here whatever the server says (an expired one ends by itself).
  }
  signedOut("");
}

// Orders

async function placeOrder(productId, card) {
  const quantity = Number(card.form.elements.quantity.value);
  card.setBusy(true);
  try {
    const input = { lines: [{ productId, quantity }] };
    const result = (await graphql(PLACE_ORDER, { input })).placeOrder;
    showOrderResult(card, result);
  } catch (error) {
    card.say(failureText(error), "error");
  } finally {
    card.setBusy(false);
  }
}

function showOrderResult(card, result) {
  if (result.__typename === "PlaceOrderSuccess") {
    const { order } = result;
    card.say(`Order ${order.id}: ${order.status}, total ${order.total}.`, "success");
    // Staff see stock move live; others see availability from the answer.
    if (!can("inventory:read")) {
      for (const line of order.lines) {
        page.cards.get(line.product.id)?.setInStock(line.product.inStock);
      }
    }
  } else if (ORDER_ERRORS.has(result.__typename)) {
    card.say(result.message, "error");
  } else {
    card.say(`The order was not placed (${result.__typename}).`, "error");
  }
}

function start() {
  byTestId("sign-in-form").addEventListener("submit", signIn);
  byTestId("sign-out").addEventListener("click", signOut);
  byTestId("next").addEventListener("click", nextPage);
  byTestId("previous").addEventListener("click", previousPage);
  showAccount();
  showPage();
}

start();
