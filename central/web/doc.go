// Package web is the shared base of central's server-rendered pages (the
// ops screens now, the storefront later): one layout, one stylesheet, the
// language of a request (zh or en, from a remembered choice or
// Accept-Language, with a switch on every page), a light or dark theme, and
// the CSRF check of forms. Templates and string catalogs are embedded, so
// nothing is built or fetched at run time.
//
// It knows nothing of accounts: a page's package says who is logged in and
// which CSRF token its forms carry.
package web
