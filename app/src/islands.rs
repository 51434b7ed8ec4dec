//! The only components that ship to the browser.

use leptos::prelude::*;

/// A password input with a button that shows or hides what was typed.
/// Without JavaScript it is an ordinary password input.
#[island]
pub fn PasswordInput(
    name: String,
    id: String,
    autocomplete: String,
    show_label: String,
    hide_label: String,
) -> impl IntoView {
    let visible = RwSignal::new(false);
    let button_label = move || {
        if visible.get() {
            hide_label.clone()
        } else {
            show_label.clone()
        }
    };
    view! {
        <span class="password">
            <input
                type=move || if visible.get() { "text" } else { "password" }
                name=name
                id=id
                autocomplete=autocomplete
                required
            />
            <button
                type="button"
                class="secondary password-toggle"
                aria-pressed=move || visible.get().to_string()
                on:click=move |_| visible.update(|v| *v = !*v)
            >
                {button_label}
            </button>
        </span>
    }
}
