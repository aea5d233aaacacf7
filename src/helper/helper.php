<?php /* wprescue-helper: a short-lived database helper left by wprescue; safe to delete. */

// Reads and changes a few database values for wprescue, without loading WordPress (loading it
// would run the very plugins that lock the admin out). A closed set of operations on rows of
// named tables: no SQL comes in, no code is evaluated. wprescue fills in the constants below
// before sending this file:
// - exec mode: run by `php` over SSH with this text on stdin; the request is embedded.
// - serve mode: run by `php` over SSH and kept running: a request per line on stdin, an
//   answer per line on stdout, until stdin ends.
// - http mode: uploaded into a folder of its own with a random name in the WordPress root
//   (whose .htaccess / .user.ini switch off auto_prepend_file firewalls for that folder only)
//   and POSTed to for a few minutes. Each request is signed with the embedded key (an
//   HMAC-SHA256 of its sequence number and body, which never crosses the wire alone), and so
//   is each answer. The first request that is not signed, or that comes once the file is past
//   its lifetime, is refused and the helper deletes itself and its folder: whoever sent it
//   knows where it is. wprescue deletes it when done.
// - whoami mode: as http mode, but only answers what the web server saw of the caller, once,
//   then deletes itself.
// Works on PHP 7.0 and later, with mysqli.

error_reporting(E_ALL);
ini_set('display_errors', '0');
ini_set('html_errors', '0');

const WPR_MODE = '{{MODE}}';
const WPR_KEY = '{{KEY}}';
const WPR_TTL = {{TTL}};
const WPR_CONFIG = '{{CONFIG}}';
const WPR_REQUEST = '{{REQUEST}}';

/** A failure to report to wprescue as JSON: a kind it maps onto its error type. */
class WprFail extends Exception
{
    public $kind;
    public $op;
    public $extra;

    public function __construct($kind, $op, $why, $extra = array())
    {
        parent::__construct($why);
        $this->kind = $kind;
        $this->op = $op;
        $this->extra = $extra;
    }
}

if (WPR_MODE === 'exec') {
    echo wpr_encode(wpr_answer(base64_decode(WPR_REQUEST), getcwd())), "\n";
} elseif (WPR_MODE === 'serve') {
    // Kept running over SSH: one request per line on stdin (base64), one answer per line.
    while (($line = fgets(STDIN)) !== false) {
        echo wpr_encode(wpr_answer(base64_decode(trim($line)), getcwd())), "\n";
        flush();
    }
} else {
    wpr_serve();
}

/** HTTP modes: expiry, method and signature checks, then a signed answer. */
function wpr_serve()
{
    ignore_user_abort(true);
    // Whatever happens below, even a fatal error, a one-shot helper does not outlive its
    // answer, nor does any helper outlive a request it refused.
    $GLOBALS['wpr_remove'] = WPR_MODE === 'whoami';
    register_shutdown_function(function () {
        if (!$GLOBALS['wpr_remove']) {
            return;
        }
        @unlink(__FILE__);
        // The folder made for this helper goes too: its two configuration files, then itself.
        if (basename(__DIR__) . '.php' === basename(__FILE__)) {
            foreach (array('.htaccess', '.user.ini') as $name) {
                $head = (string) @file_get_contents(__DIR__ . '/' . $name, false, null, 0, 32);
                if (strpos($head, 'wprescue-helper:') !== false) {
                    @unlink(__DIR__ . '/' . $name);
                }
            }
            @rmdir(__DIR__);
        }
    });
    header('Cache-Control: no-store');
    header('X-Robots-Tag: noindex');
    // The server's own clock judges the age, so skew between machines does not matter.
    $mtime = @filemtime(__FILE__);
    if ($mtime === false || time() > $mtime + WPR_TTL) {
        $GLOBALS['wpr_remove'] = true;
        wpr_text(410, 'wprescue helper: expired');
        return;
    }
    $seq = isset($_SERVER['HTTP_X_WPRESCUE_SEQ']) ? $_SERVER['HTTP_X_WPRESCUE_SEQ'] : '';
    $mac = isset($_SERVER['HTTP_X_WPRESCUE_MAC']) ? $_SERVER['HTTP_X_WPRESCUE_MAC'] : '';
    $method = isset($_SERVER['REQUEST_METHOD']) ? $_SERVER['REQUEST_METHOD'] : '';
    $body = (string) file_get_contents('php://input');
    if ($method !== 'POST' || !is_string($seq) || !preg_match('/^[0-9]{1,18}$/', $seq)
        || !is_string($mac) || $mac === ''
        || !hash_equals(wpr_sign('wprescue-request', $seq, $body), $mac)) {
        $GLOBALS['wpr_remove'] = true;
        wpr_text(403, 'wprescue helper: refused');
        return;
    }
    if (WPR_MODE === 'whoami') {
        $out = wpr_encode(array('wprescue' => 1, 'ok' => true, 'seen' => wpr_seen()));
    } else {
        // Every answer says what the web server saw of the caller: asking costs no upload.
        $out = wpr_encode(wpr_answer($body, __DIR__) + array('seen' => wpr_seen()));
    }
    header('Content-Type: application/json');
    header('X-Wprescue-Mac: ' . wpr_sign('wprescue-answer', $seq, $out));
    echo $out;
}

/** The signature of one message: HMAC-SHA256 of its direction, sequence number and body. */
function wpr_sign($label, $seq, $body)
{
    return hash_hmac('sha256', $label . "\n" . $seq . "\n" . $body, WPR_KEY);
}

function wpr_text($status, $text)
{
    http_response_code($status);
    header('Content-Type: text/plain');
    echo $text, "\n";
}

/** The caller's address and the proxy headers that may carry another one. */
function wpr_seen()
{
    $names = array(
        'X-Forwarded-For', 'X-Real-IP', 'CF-Connecting-IP', 'Client-IP',
        'X-Cluster-Client-IP', 'Forwarded', 'X-Forwarded',
    );
    $headers = array();
    foreach ($names as $name) {
        $key = 'HTTP_' . strtoupper(str_replace('-', '_', $name));
        if (isset($_SERVER[$key])) {
            $headers[] = array($name, wpr_ascii($_SERVER[$key]));
        }
    }
    $addr = isset($_SERVER['REMOTE_ADDR']) ? wpr_ascii($_SERVER['REMOTE_ADDR']) : '';
    return array('remote_addr' => $addr, 'headers' => $headers);
}

/** Runs one request; every failure becomes a JSON error, never a PHP message. */
function wpr_answer($raw, $base)
{
    try {
        $ops = wpr_parse_request($raw);
        if (count($ops) === 0) {
            return array('wprescue' => 1, 'ok' => true, 'answers' => array());
        }
        // A helper kept running (serve mode, or HTTP keep-alive in one PHP process) reads the
        // settings and connects once.
        static $config = null, $db = null;
        if ($db === null || !@$db->ping()) {
            $config = wpr_read_config($base . '/' . base64_decode(WPR_CONFIG));
            $db = wpr_connect($config);
        }
        return array('wprescue' => 1, 'ok' => true, 'answers' => wpr_run($db, $config['prefix'], $ops));
    } catch (WprFail $e) {
        $error = array('kind' => $e->kind, 'op' => $e->op, 'why' => wpr_ascii($e->getMessage()));
        return array('wprescue' => 1, 'ok' => false, 'error' => $error + $e->extra);
    } catch (Throwable $e) {
        $why = get_class($e) . ': ' . wpr_ascii($e->getMessage());
        return array('wprescue' => 1, 'ok' => false, 'error' => array('kind' => 'internal', 'op' => null, 'why' => $why));
    }
}

function wpr_parse_request($raw)
{
    $request = json_decode((string) $raw, true);
    if (!is_array($request) || !isset($request['v']) || $request['v'] !== 1
        || !isset($request['ops']) || !is_array($request['ops'])
        || array_values($request['ops']) !== $request['ops']) {
        throw new WprFail('protocol', null, 'the request is not a wprescue helper request of version 1');
    }
    return $request['ops'];
}

/** JSON carries text only; messages are kept to printable ASCII so encoding cannot fail. */
function wpr_ascii($text)
{
    return preg_replace('/[^\x20-\x7E]/', '?', (string) $text);
}

function wpr_encode($value)
{
    return json_encode($value, JSON_UNESCAPED_SLASHES);
}

// ---------------------------------------------------------------------------------------------
// wp-config.php, read as PHP tokens: only literal define() values and $table_prefix count.

function wpr_read_config($path)
{
    $source = @file_get_contents($path);
    if ($source === false) {
        throw new WprFail('config', null, 'cannot read ' . $path, array('path' => $path));
    }
    $tokens = array();
    foreach (token_get_all($source) as $token) {
        if (is_array($token) && in_array($token[0], array(T_WHITESPACE, T_COMMENT, T_DOC_COMMENT), true)) {
            continue;
        }
        $tokens[] = $token;
    }
    $defines = array();
    $prefix = null;
    $n = count($tokens);
    for ($i = 0; $i < $n; $i++) {
        $text = is_array($tokens[$i]) ? $tokens[$i][1] : $tokens[$i];
        if ((strcasecmp($text, 'define') === 0 || strcasecmp($text, '\define') === 0)
            && wpr_is($tokens, $i + 1, '(') && wpr_is_literal($tokens, $i + 2)
            && wpr_is($tokens, $i + 3, ',')) {
            $name = wpr_unquote($tokens[$i + 2][1]);
            // The first define() wins at run time; a later one only raises a warning.
            if (!array_key_exists($name, $defines)) {
                $literal = wpr_is_literal($tokens, $i + 4) && wpr_is($tokens, $i + 5, ')');
                $defines[$name] = $literal ? wpr_unquote($tokens[$i + 4][1]) : null;
            }
        }
        if ($text === '$table_prefix' && wpr_is($tokens, $i + 1, '=')) {
            $literal = wpr_is_literal($tokens, $i + 2) && wpr_is($tokens, $i + 3, ';');
            $prefix = $literal ? wpr_unquote($tokens[$i + 2][1]) : false;
        }
    }
    $config = array();
    foreach (array('DB_NAME', 'DB_USER', 'DB_PASSWORD', 'DB_HOST') as $name) {
        if (!isset($defines[$name])) {
            throw new WprFail('config', null, $name . ' is not defined as a plain string in ' . $path, array('path' => $path));
        }
        $config[$name] = $defines[$name];
    }
    $config['DB_CHARSET'] = isset($defines['DB_CHARSET']) ? $defines['DB_CHARSET'] : '';
    if (!is_string($prefix) || !preg_match('/^[A-Za-z0-9_]*$/D', $prefix)) {
        throw new WprFail('config', null, '$table_prefix is not a plain string of letters, digits and _ in ' . $path, array('path' => $path));
    }
    $config['prefix'] = $prefix;
    return $config;
}

function wpr_is($tokens, $i, $char)
{
    return isset($tokens[$i]) && $tokens[$i] === $char;
}

function wpr_is_literal($tokens, $i)
{
    return isset($tokens[$i]) && is_array($tokens[$i]) && $tokens[$i][0] === T_CONSTANT_ENCAPSED_STRING;
}

/** The value of a PHP string literal without variables, in either quote style. */
function wpr_unquote($literal)
{
    $body = substr($literal, 1, -1);
    if ($literal[0] === "'") {
        return preg_replace('/\\\\([\\\\\'])/', '$1', $body);
    }
    $simple = array('n' => "\n", 't' => "\t", 'r' => "\r", 'v' => "\v", 'e' => "\x1B", 'f' => "\f", '\\' => '\\', '$' => '$', '"' => '"');
    return preg_replace_callback('/\\\\(?:([ntrvef\\\\$"])|([0-7]{1,3})|x([0-9A-Fa-f]{1,2}))/', function ($m) use ($simple) {
        if (isset($m[3]) && $m[3] !== '') {
            return chr(hexdec($m[3]));
        }
        if (isset($m[2]) && $m[2] !== '') {
            return chr(octdec($m[2]) & 0xFF);
        }
        return $simple[$m[1]];
    }, $body);
}

// ---------------------------------------------------------------------------------------------
// The database.

/** Connects the way WordPress does (host forms, charset, SQL mode), so values read and
 * written are the bytes the plugins see. */
function wpr_connect($config)
{
    if (!class_exists('mysqli')) {
        throw new WprFail('database', null, 'PHP has no mysqli extension', wpr_db_names($config));
    }
    mysqli_report(MYSQLI_REPORT_ERROR | MYSQLI_REPORT_STRICT);
    list($host, $port, $socket) = wpr_parse_host($config['DB_HOST']);
    $db = mysqli_init();
    try {
        // FOUND_ROWS: an UPDATE that writes identical values still counts its matched row.
        $db->real_connect($host, $config['DB_USER'], $config['DB_PASSWORD'], $config['DB_NAME'], $port, $socket, MYSQLI_CLIENT_FOUND_ROWS);
    } catch (mysqli_sql_exception $e) {
        throw new WprFail('database', null, $e->getMessage(), wpr_db_names($config));
    }
    $charset = $config['DB_CHARSET'];
    if ($charset === 'utf8' || $charset === 'utf8mb4') {
        try {
            $db->set_charset('utf8mb4');
        } catch (mysqli_sql_exception $e) {
            $db->set_charset('utf8');
        }
    } elseif ($charset !== '') {
        $db->set_charset($charset);
    }
    // WordPress drops these modes for its own connection; re-inserting a row it wrote (a zero
    // date, an over-long value) must be accepted the same way.
    $modes = $db->query('SELECT @@SESSION.sql_mode')->fetch_row();
    $incompatible = array('NO_ZERO_DATE', 'ONLY_FULL_GROUP_BY', 'STRICT_TRANS_TABLES', 'STRICT_ALL_TABLES', 'TRADITIONAL', 'ANSI');
    $kept = array_diff(array_filter(explode(',', (string) $modes[0])), $incompatible);
    $stmt = $db->prepare('SET SESSION sql_mode = ?');
    $mode = implode(',', $kept);
    $stmt->bind_param('s', $mode);
    $stmt->execute();
    return $db;
}

function wpr_db_names($config)
{
    return array('host' => $config['DB_HOST'], 'name' => $config['DB_NAME'], 'user' => $config['DB_USER']);
}

/** DB_HOST as WordPress reads it: host, host:port, host:/socket, [::1]:3306. */
function wpr_parse_host($value)
{
    $socket = null;
    $at = strpos($value, ':/');
    if ($at !== false) {
        $socket = substr($value, $at + 1);
        $value = substr($value, 0, $at);
    }
    if (substr_count($value, ':') > 1) {
        $ok = preg_match('#^(?:\[)?(?P<host>[0-9a-fA-F:]+)(?:\]:(?P<port>[\d]+))?#', $value, $m);
        $host = $ok && $m['host'] !== '' ? '[' . $m['host'] . ']' : '';
    } else {
        $ok = preg_match('#^(?P<host>[^:/]*)(?::(?P<port>[\d]+))?#', $value, $m);
        $host = $ok ? $m['host'] : '';
    }
    $port = $ok && isset($m['port']) && $m['port'] !== '' ? (int) $m['port'] : null;
    return array($host === '' ? 'localhost' : $host, $port, $socket);
}

/** All ops in one transaction: any failure rolls back everything before it. */
function wpr_run($db, $prefix, $ops)
{
    $tables = array();
    $result = $db->query('SHOW TABLES');
    while ($row = $result->fetch_row()) {
        $tables[$row[0]] = true;
    }
    $db->begin_transaction();
    try {
        $answers = array();
        foreach ($ops as $i => $op) {
            $answers[] = wpr_op($db, $prefix, $tables, $i, $op);
        }
        $db->commit();
        return $answers;
    } catch (Throwable $e) {
        $db->rollback();
        if ($e instanceof mysqli_sql_exception) {
            // A duplicate key means the row was put back by someone else since it was read.
            $kind = $e->getCode() === 1062 ? 'stale' : 'refused';
            throw new WprFail($kind, isset($i) ? $i : null, 'the database said: ' . $e->getMessage());
        }
        throw $e;
    }
}

function wpr_op($db, $prefix, $tables, $i, $op)
{
    $what = is_array($op) && isset($op['op']) ? $op['op'] : null;
    if ($what === 'tables') {
        $names = wpr_list($op, 'names', $i);
        $found = array();
        foreach ($names as $name) {
            if (isset($tables[wpr_table($name, $prefix, $i)])) {
                $found[] = $name;
            }
        }
        return array('tables' => $found);
    }
    if (!in_array($what, array('select', 'update', 'delete', 'insert'), true)) {
        throw new WprFail('refused', $i, 'unknown operation');
    }
    $table = wpr_table(isset($op['table']) ? $op['table'] : null, $prefix, $i);
    if (!isset($tables[$table])) {
        throw new WprFail('refused', $i, 'no table ' . $table);
    }
    $quoted = '`' . $table . '`';
    $columns = wpr_columns($db, $quoted);
    if ($what === 'select') {
        $column = isset($op['column']) ? $op['column'] : null;
        wpr_column($columns, $column, $i);
        $values = array_map(function ($v) use ($i) {
            return wpr_value($v, $i, false);
        }, wpr_list($op, 'values', $i));
        if (!$values) {
            return array('columns' => $columns, 'rows' => array());
        }
        $sql = 'SELECT * FROM ' . $quoted . ' WHERE `' . $column . '` IN (' . implode(',', array_fill(0, count($values), '?')) . ')';
        return array('columns' => $columns, 'rows' => wpr_fetch(wpr_execute($db, $sql, $values)));
    }
    if ($what === 'update') {
        $before = wpr_row($op, 'before', $columns, $i);
        $after = wpr_row($op, 'after', $columns, $i);
        list($where, $match) = wpr_match($before);
        wpr_expect_rows($db, $quoted, $where, $match, $i, 'exactly', 'the row to update');
        $set = array();
        foreach (array_keys($after) as $column) {
            $set[] = '`' . $column . '` = ?';
        }
        $sql = 'UPDATE ' . $quoted . ' SET ' . implode(', ', $set) . ' WHERE ' . $where . ' LIMIT 1';
        wpr_execute($db, $sql, array_merge(array_values($after), $match));
        return array('done' => 1);
    }
    $rows = wpr_list($op, 'rows', $i);
    $done = 0;
    foreach ($rows as $row) {
        $row = wpr_row(array('row' => $row), 'row', $columns, $i);
        if ($what === 'delete') {
            list($where, $params) = wpr_match($row);
            wpr_expect_rows($db, $quoted, $where, $params, $i, 'at least', 'a row to delete');
            $stmt = wpr_execute($db, 'DELETE FROM ' . $quoted . ' WHERE ' . $where . ' LIMIT 1', $params);
        } else {
            // An auto-increment key is the database's to give (a row that never existed has
            // none); every other column must be given.
            $missing = array_diff($columns, array_keys($row), wpr_auto_increment_columns($db, $quoted));
            if ($missing) {
                throw new WprFail('refused', $i, 'an inserted row must give every column but an auto-increment key; missing: ' . implode(', ', $missing));
            }
            $names = '`' . implode('`, `', array_keys($row)) . '`';
            $marks = implode(', ', array_fill(0, count($row), '?'));
            $stmt = wpr_execute($db, 'INSERT INTO ' . $quoted . ' (' . $names . ') VALUES (' . $marks . ')', array_values($row));
        }
        $done += $stmt->affected_rows;
    }
    return array('done' => $done);
}

/** Compare-and-swap guard: the rows matching `$where` must number exactly one, or at least one. */
function wpr_expect_rows($db, $quoted, $where, $params, $i, $how, $what)
{
    // FOR UPDATE locks the matched rows until commit, so nothing changes them in between.
    $sql = 'SELECT 1 FROM ' . $quoted . ' WHERE ' . $where . ' LIMIT 2 FOR UPDATE';
    $count = wpr_execute($db, $sql, $params)->get_result()->num_rows;
    if ($count === 0 || ($how === 'exactly' && $count !== 1)) {
        throw new WprFail('stale', $i, $count === 0
            ? 'no longer there: ' . $what . ' was changed or removed since it was read'
            : $count . ' rows match ' . $what . ', expected exactly one');
    }
}

/** NULL-safe equality on every given column. */
function wpr_match($row)
{
    $parts = array();
    foreach (array_keys($row) as $column) {
        $parts[] = '`' . $column . '` <=> ?';
    }
    return array(implode(' AND ', $parts), array_values($row));
}

function wpr_execute($db, $sql, $values)
{
    $stmt = $db->prepare($sql);
    if ($values) {
        $stmt->bind_param(str_repeat('s', count($values)), ...$values);
    }
    $stmt->execute();
    return $stmt;
}

function wpr_fetch($stmt)
{
    if (!method_exists($stmt, 'get_result')) {
        throw new WprFail('internal', null, 'mysqli without mysqlnd cannot return rows');
    }
    $result = $stmt->get_result();
    $rows = array();
    while ($row = $result->fetch_row()) {
        $rows[] = array_map('wpr_encode_value', $row);
    }
    return $rows;
}

/** A column value as the bytes MySQL would print, base64 for JSON; NULL stays null. */
function wpr_encode_value($value)
{
    if ($value === null) {
        return null;
    }
    if (is_float($value)) {
        // The shortest text that reads back as the same double.
        $text = sprintf('%.15g', $value);
        $value = (float) $text === $value ? $text : sprintf('%.17g', $value);
    }
    return base64_encode((string) $value);
}

function wpr_columns($db, $quoted)
{
    $columns = array();
    $result = $db->query('SHOW COLUMNS FROM ' . $quoted);
    while ($row = $result->fetch_assoc()) {
        $columns[] = $row['Field'];
    }
    return $columns;
}

function wpr_auto_increment_columns($db, $quoted)
{
    $columns = array();
    $result = $db->query('SHOW COLUMNS FROM ' . $quoted);
    while ($row = $result->fetch_assoc()) {
        if (stripos($row['Extra'], 'auto_increment') !== false) {
            $columns[] = $row['Field'];
        }
    }
    return $columns;
}

/** A table's name in the database: WordPress's `$table_prefix` and the name given, or, for a
 * name given as `!name`, the name alone (a plugin that creates its tables without the prefix,
 * as WP Cerber does `cerber_blocks`). Either way the rest must be a plain identifier. */
function wpr_table($name, $prefix, $i)
{
    if (is_string($name) && substr($name, 0, 1) === '!') {
        $bare = substr($name, 1);
        wpr_identifier($bare, $i);
        return $bare;
    }
    wpr_identifier($name, $i);
    return $prefix . $name;
}

function wpr_identifier($name, $i)
{
    // D: `$` must not accept a trailing newline.
    if (!is_string($name) || !preg_match('/^[A-Za-z0-9_]{1,64}$/D', $name)) {
        throw new WprFail('refused', $i, 'not a table or column name: ' . (is_string($name) ? $name : gettype($name)));
    }
}

function wpr_column($columns, $name, $i)
{
    wpr_identifier($name, $i);
    if (!in_array($name, $columns, true)) {
        throw new WprFail('refused', $i, 'no column ' . $name . ' (columns: ' . implode(', ', $columns) . ')');
    }
}

function wpr_list($op, $key, $i)
{
    if (!isset($op[$key]) || !is_array($op[$key])) {
        throw new WprFail('refused', $i, 'missing list ' . $key);
    }
    return $op[$key];
}

/** A row from the request: [[column, base64 or null], ...] with real, distinct columns. */
function wpr_row($op, $key, $columns, $i)
{
    $row = array();
    foreach (wpr_list($op, $key, $i) as $pair) {
        if (!is_array($pair) || count($pair) !== 2) {
            throw new WprFail('refused', $i, 'a row holds [column, value] pairs');
        }
        wpr_column($columns, $pair[0], $i);
        if (array_key_exists($pair[0], $row)) {
            throw new WprFail('refused', $i, 'column ' . $pair[0] . ' given twice');
        }
        $row[$pair[0]] = wpr_value($pair[1], $i, true);
    }
    if (!$row) {
        throw new WprFail('refused', $i, 'an empty row');
    }
    return $row;
}

function wpr_value($value, $i, $nullable)
{
    if ($value === null && $nullable) {
        return null;
    }
    $bytes = is_string($value) ? base64_decode($value, true) : false;
    if ($bytes === false) {
        throw new WprFail('refused', $i, 'a value is not base64' . ($nullable ? ' or null' : ''));
    }
    return $bytes;
}
