// The GraphQL API over HTTP, and the signed-in session (kept in memory: a reload signs out).

const ENDPOINT = "/graphql";

const REFRESH = `
  mutation Refresh($refreshToken: String!) {
    refreshToken(refreshToken: $refreshToken) { accessToken refreshToken }
  }`;

let session = null; // { accessToken, refreshToken, user }
let refreshing = null; // the one refresh in flight: a refresh token works only once

/** A GraphQL answer with `errors`; `code` is the first error's extensions.code. */
export class GraphQLError extends Error {
  constructor(errors) {
    super(errors.map((error) => error.message).join("; "));
    this.name = "GraphQLError";
    this.errors = errors;
    this.code = errors[0]?.extensions?.code ?? null;
  }
}

export function currentSession() {
  return session;
}

export function startSession(accessToken, refreshToken, user) {
  session = { accessToken, refreshToken, user };
}

export function endSession() {
  session = null;
}

/** The signed-in user holds `permission` (e.g. "inventory:read"). */
export function can(permission) {
  return session !== null && session.user.permissions.includes(permission);
}

async function post(query, variables, accessToken) {
  const headers = { "Content-Type": "application/json", Accept: "application/json" };
  if (accessToken) {
    headers.Authorization = `Bearer ${accessToken}`;
  }
  const response = await fetch(ENDPOINT, {
    method: "POST",
    headers,
    body: JSON.stringify({ query, variables }),
  });
  const type = response.headers.get("content-type") ?? "";
  if (!type.includes("json")) {
    throw new Error(`The API answered HTTP ${response.status}.`);
  }
  return response.json();
}

/** Exchange the refresh token for a new pair; concurrent callers share one exchange. */
export function refreshSession() {
  if (session === null) {
    return Promise.reject(new Error("Not signed in."));
  }
  if (refreshing === null) {
    const stale = session;
    refreshing = post(REFRESH, { refreshToken: stale.refreshToken }, null)
      .then((result) => {
        if (result.errors?.length) {
          throw new GraphQLError(result.errors);
        }
        if (session === stale) {
          const pair = result.data.refreshToken;
          session = { ...stale, accessToken: pair.accessToken, refreshToken: pair.refreshToken };
        }
        return session;
      })
      .finally(() => {
        refreshing = null;
      });
  }
  return refreshing;
}

/** Run an operation as the signed-in user (if any); throws GraphQLError on `errors`. */
export async function graphql(query, variables = {}) {
  const asked = session;
  let result = await post(query, variables, asked?.accessToken);
  const expired = result.errors?.some((error) => error.extensions?.code === "TOKEN_EXPIRED");
  // Retried once, and only as the same user (another may have signed in meanwhile).
  if (expired && asked !== null && session?.user.id === asked.user.id) {
    const renewed = session === asked ? await refreshSession() : session;
    result = await post(query, variables, renewed?.accessToken);
  }
  if (result.errors?.length) {
    throw new GraphQLError(result.errors);
  }
  return result.data;
}
