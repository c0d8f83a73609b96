// Who is using the workbench. When the service wants a credential and has none it accepts, a
// sign-in form takes the page; once signed in, the header names the caller and offers to sign
// out, and `GET /auth/me` says which scopes the caller holds, so that pages offer only what
// the server would allow. The server still checks every request: this spares the user
// buttons that could only answer 403, it protects nothing.

import { api, problemText } from "./api.js";
import { onRejected, signIn, signOut } from "./credential.js";
import { h, replace } from "./dom.js";

// contract/src/paths.rs: AUTH_ME_PATH.
const AUTH_ME_PATH = "/auth/me";
// contract/src/scopes.rs: ADMIN_SCOPE, which holds every scope of every entity.
const ADMIN_SCOPE = "admin";

/** What the caller may do, from its `GET /auth/me`. */
export class Access {
  constructor(me) {
    this.me = me;
    this.scopes = new Set(me.scopes);
  }

  /** Whether the caller holds `required`, one of `entity`'s scopes: the scope itself, the
   *  entity's admin scope, or the global admin scope (contract/src/scopes.rs, `allows`).
   *  With authentication off everyone is admin. */
  may(entity, required) {
    if (!this.me.authentication) return true;
    return this.scopes.has(required) || this.scopes.has(entity.scopes.admin) || this.scopes.has(ADMIN_SCOPE);
  }

  /** Why the caller cannot use a control that needs `required`, as its title; false when it can. */
  denial(entity, required) {
    return this.may(entity, required) ? false : `Needs the ${required} scope, which your credential does not hold.`;
  }
}

/** The scope an action's route needs (workbench.json names it; the admin scope otherwise, as
 *  the server's rule has it). */
export function actionScope(entity, action) {
  return entity.scopes.actions[action.name] || entity.scopes.admin;
}

/** The signed-in state of the page. `open(access)` draws the workbench for a caller and
 *  returns a function that takes it down again (on sign-out, or when the server refuses the
 *  credential). */
export class Session {
  constructor(main, header, open) {
    this.main = main;
    this.header = header;
    this.open = open;
    this.close = null;
    this.form = null;
    onRejected((detail) => this.showSignIn(detail));
  }

  /** Asks the server who the caller is and opens the workbench, or shows the form: with
   *  `problem` (a sign-in link's malformed key) it shows the form right away. */
  async begin(problem) {
    if (problem) this.showSignIn(problem);
    else await this.enter();
  }

  async enter() {
    const response = await api("GET", AUTH_ME_PATH);
    // A 401 has already brought the form up (credential.js tells this session).
    if (response.status === 401) return;
    if (!response.ok) {
      const message = `Who you are could not be checked: ${problemText(response)}`;
      replace(this.main, h("p", { role: "alert" }, message));
      return;
    }
    this.form = null;
    this.renderHeader(response.body);
    this.close = this.open(new Access(response.body));
  }

  /** Signed in as … and a sign-out button; nothing when the service checks no credentials. */
  renderHeader(me) {
    if (!me.authentication) {
      replace(this.header);
      return;
    }
    replace(
      this.header,
      h("span", { class: "subject", "data-testid": "subject" }, "Signed in as ", h("strong", {}, me.subject)),
      h(
        "button",
        {
          type: "button",
          onclick: () => {
            signOut();
            this.showSignIn(null);
          },
        },
        "Sign out",
      ),
    );
  }

  /** Takes the workbench down and asks for a credential, saying why when `detail` (the
   *  server's, or the shape check's) is given. A form already shown only gets the message. */
  showSignIn(detail) {
    if (this.close) {
      this.close();
      this.close = null;
    }
    replace(this.header);
    if (this.form && this.main.contains(this.form.element)) {
      if (detail) this.form.showProblem(detail);
      return;
    }
    document.title = "Sign in · Workbench";
    this.form = new SignInForm((value) => this.submit(value));
    replace(this.main, this.form.element);
    if (detail) this.form.showProblem(detail);
    this.form.input.focus();
  }

  /** Keeps a well-formed credential and checks it with the server; the form shows what is wrong. */
  async submit(value) {
    const problem = signIn(value);
    if (problem) {
      this.form.showProblem(problem);
      return;
    }
    await this.enter();
  }
}

/** The sign-in form: one password-type field, so the key is not shown on screen. */
class SignInForm {
  constructor(submit) {
    this.input = h("input", {
      id: "credential",
      name: "credential",
      type: "password",
      autocomplete: "off",
      spellcheck: "false",
      "aria-describedby": "credential-help",
      "aria-required": "true",
    });
    this.problem = h("div", { class: "form-error", role: "alert", id: "sign-in-error", hidden: true });
    this.button = h("button", { type: "submit", class: "primary" }, "Sign in");
    const form = h(
      "form",
      { class: "sign-in-form", novalidate: true, "aria-labelledby": "sign-in-title" },
      this.problem,
      h(
        "div",
        { class: "field" },
        h("label", { for: "credential" }, "API key or token"),
        this.input,
        h(
          "p",
          { class: "help", id: "credential-help" },
          "An API key starts with esk_; a token (JWT) has three parts separated by dots. ",
          "It is kept in this tab only, until you sign out or close the tab.",
        ),
      ),
      h("div", { class: "form-actions" }, this.button),
    );
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      this.button.disabled = true;
      try {
        await submit(this.input.value);
      } finally {
        this.button.disabled = false;
      }
    });
    this.element = h(
      "section",
      { class: "tile sign-in", "aria-labelledby": "sign-in-title", "data-testid": "sign-in" },
      h("h1", { id: "sign-in-title" }, "Sign in"),
      h("p", { class: "lead" }, "This service needs a credential. Paste an API key or a token to use the workbench."),
      form,
    );
  }

  showProblem(text) {
    replace(this.problem, text);
    this.problem.hidden = false;
    this.input.setAttribute("aria-invalid", "true");
    this.input.setAttribute("aria-describedby", "sign-in-error credential-help");
    this.input.value = "";
    this.input.focus();
  }
}
