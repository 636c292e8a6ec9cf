// Package pdftext draws mixed Chinese and Latin text into PDFs made with
// codeberg.org/go-pdf/fpdf, for the storefront's tickets and the
// invoices.
//
// The PDF library embeds TrueType fonts only, and no one free TrueType
// font has both the Latin letters and Chinese: DroidSansFallback draws
// Chinese but no Latin, DejaVu Sans the reverse. So a Doc registers both
// and draws each run of text from the font that has it; a space belongs
// to the run it is in. Fonts are read from disk once per Fonts value.
//
// It never draws a glyph from a font that lacks it (the boxes a reader
// would see), and it does no layout beyond a line: callers place lines.
package pdftext
