// Dark and light themes: a class on <html>, remembered in this browser.
export type Theme = "light" | "dark" | "system";

export function applyTheme(t: Theme) {
  localStorage.setItem("theme", t);
  const dark = t === "dark" || (t === "system" && matchMedia("(prefers-color-scheme: dark)").matches);
  document.documentElement.classList.toggle("dark", dark);
}

export function currentTheme(): Theme {
  return (localStorage.getItem("theme") as Theme | null) ?? "system";
}
