// Package receipt draws a seller's documents as PDF: the receipt of a sale,
// in the buyer's language, and the report of a shift. It is the only
// package that imports the PDF library (codeberg.org/go-pdf/fpdf).
//
// The PDF library embeds TrueType fonts only, and no one free TrueType font
// on a Debian device draws both Chinese and Latin text: Droid Sans Fallback
// draws Chinese without Latin glyphs, DejaVu Sans the reverse. So a
// document carries both, and each run of text is set in the font that has
// its script. The fonts are read at run time from the device's system
// fonts (Debian's fonts-droid-fallback and fonts-dejavu-core), not compiled
// into the binary: the Chinese font alone is 4 MB, and every gate would
// carry it for documents only sellers print. A device without them says
// which package to install when the first document is asked for.
//
// Everything a document says comes in already formatted (amounts in the
// reader's way, times in the venue's zone): this package lays out text, it
// does not compute money.
package receipt
