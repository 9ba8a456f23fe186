// Stand-in for SheetJS xlsx (see package.json): @sdeverywhere/compile calls set_fs
// when it loads and readFile only for GET DIRECT DATA from Excel, which the model
// does not use; reading an Excel file fails loudly.
'use strict'
function unavailable() {
  throw new Error('xlsx is stubbed in tools/sde: the model must not read Excel data files')
}
module.exports = { set_fs() {}, readFile: unavailable, read: unavailable, utils: {} }
