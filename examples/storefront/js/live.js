// Live stock over the API's WebSocket: the graphql-transport-ws protocol, written by hand.

const PROTOCOL = "graphql-transport-ws";
const RECONNECT_MS = 2000;

const STOCK_CHANGED = `
  subscription StockChanged($productIds: [ID!], $after: ID) {
    stockChanged(productIds: $productIds, after: $after) {
      cursor
      quantityAfter
      product { id }
    }
  }`;

function socketUrl() {
  const url = new URL("/graphql", window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.href;
}

function sameIds(a, b) {
  return a.length === b.length && a.every((id, i) => id === b[i]);
}

/**
 * One WebSocket and at most one stockChanged subscription: the products on the page.
 * Reports each event as onChange(productId, quantityAfter), its state as
 * onStatus(state, text) with state "connecting", "live", "stopped" or "off", and calls
 * onExpired() when the access token has expired (the caller renews it and calls watch).
 */
export class StockFeed {
  constructor({ onChange, onStatus, onExpired }) {
    this.onChange = onChange;
    this.onStatus = onStatus;
    this.onExpired = onExpired;
    this.socket = null;
    this.ready = false; // connection_ack received
    this.token = null;
    this.productIds = [];
    this.after = null; // the last event's cursor: a new subscription resumes after it
    this.operation = null; // id of the running subscription
    this.count = 0;
    this.retry = null;
    this.renewing = false;
  }

  /** Follow `productIds` as the holder of `token`; a new token needs a new socket. */
  watch(token, productIds) {
    if (!sameIds(productIds, this.productIds)) {
      this.after = null; // a new page is read afresh: nothing to resume
    }
    this.productIds = [...productIds];
    clearTimeout(this.retry);
    if (this.socket !== null && this.token !== token) {
      this.closeSocket();
    }
    this.token = token;
    if (this.socket === null) {
      this.open();
    } else if (this.ready) {
      this.subscribe();
    }
  }

  /** Stop following and close the socket. */
  stop() {
    clearTimeout(this.retry);
    this.token = null;
    this.productIds = [];
    this.after = null;
    this.closeSocket();
    this.onStatus("off", "");
  }

  open() {
    const socket = new WebSocket(socketUrl(), PROTOCOL);
    this.socket = socket;
    this.ready = false;
    this.onStatus("connecting", "connecting…");
    socket.addEventListener("open", () => {
      if (socket === this.socket) {
        this.send({ type: "connection_init", payload: { Authorization: `Bearer ${this.token}` } });
      }
    });
    socket.addEventListener("message", (event) => {
      if (socket === this.socket) {
        this.receive(JSON.parse(event.data));
      }
    });
    socket.addEventListener("close", (event) => {
      if (socket === this.socket) {
        this.closed(event);
      }
    });
  }

  closeSocket() {
    const socket = this.socket;
    this.socket = null;
    this.ready = false;
    this.operation = null;
    if (socket === null) {
      return;
    }
    if (socket.readyState === WebSocket.CONNECTING) {
      // Closed during its handshake, a socket is reported as failed: close it once open.
      socket.addEventListener("open", () => socket.close(1000), { once: true });
    } else {
      socket.close(1000);
    }
  }

  send(message) {
    this.socket.send(JSON.stringify(message));
  }

  subscribe() {
    if (this.operation !== null) {
      this.send({ id: this.operation, type: "complete" });
      this.operation = null;
    }
    if (this.productIds.length === 0) {
      this.onStatus("live", "live stock");
      return;
    }
    this.count += 1;
    this.operation = `stock-${this.count}`;
    const variables = { productIds: this.productIds };
    if (this.after !== null) {
      variables.after = this.after;
    }
    this.send({ id: this.operation, type: "subscribe", payload: { query: STOCK_CHANGED, variables } });
    this.onStatus("live", "live stock");
  }

  receive(message) {
    switch (message.type) {
      case "connection_ack":
        this.ready = true;
        this.renewing = false;
        this.subscribe();
        break;
      case "ping":
        this.send({ type: "pong" });
        break;
      case "next":
        if (message.id === this.operation) {
          this.next(message.payload);
        }
        break;
      case "error":
        if (message.id === this.operation) {
          this.operation = null;
          this.onStatus("stopped", message.payload.map((error) => error.message).join("; "));
        }
        break;
      case "complete":
        if (message.id === this.operation) {
          this.operation = null;
        }
        break;
      default:
        break;
    }
  }

  next(payload) {
    if (payload.errors?.length) {
      this.ended(payload.errors[0]);
      return;
    }
    const event = payload.data.stockChanged;
    this.after = event.cursor;
    this.onChange(event.product.id, event.quantityAfter);
  }

  /** The server ended the subscription; `resumeAfter` says where to pick it up. */
  ended(error) {
    const code = error.extensions?.code;
    this.after = error.extensions?.resumeAfter ?? this.after;
    this.operation = null;
    if (code === "SLOW_CONSUMER") {
      this.subscribe();
    } else if (code === "TOKEN_EXPIRED") {
      this.renew();
    } else {
      this.onStatus("stopped", error.message);
    }
  }

  renew() {
    if (this.renewing) {
      this.onStatus("stopped", "The session could not be renewed.");
      return;
    }
    this.renewing = true;
    this.onStatus("connecting", "renewing the session…");
    this.onExpired();
  }

  closed(event) {
    this.socket = null;
    this.ready = false;
    this.operation = null;
    if (this.token === null) {
      return;
    }
    if (event.code === 4403) {
      // connection_init refused: most likely an access token that expired meanwhile.
      this.renew();
      return;
    }
    if (event.code >= 4400 && event.code < 4500) {
      this.onStatus("stopped", event.reason || `closed (${event.code})`);
      return;
    }
    this.onStatus("connecting", "reconnecting…");
    this.retry = setTimeout(() => {
      if (this.token !== null && this.socket === null) {
        this.open();
      }
    }, RECONNECT_MS);
  }
}
