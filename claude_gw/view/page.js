// The session view's detail of a turn, built from the page's JSON document (claude_gw.view.page).
// Text goes in through textContent only: nothing of a log is ever parsed as HTML.
(function () {
  const data = JSON.parse(document.getElementById('view-data').textContent);
  const FOLD = 2000;
  function el(tag, text, cls) {
    const node = document.createElement(tag);
    if (text !== undefined && text !== null) node.textContent = text;
    if (cls) node.className = cls;
    return node;
  }
  function size(n) {
    return n < 1000 ? n + ' B' : n < 1e6 ? (n / 1000).toFixed(1) + ' KB' : (n / 1e6).toFixed(1) + ' MB';
  }
  function shown(label, text) {
    text = typeof text === 'string' ? text : JSON.stringify(text, null, 2);
    if (text.length <= FOLD) { const box = el('div', null, 'block'); box.append(el('span', label), el('pre', text)); return box; }
    const fold = el('details', null, 'block');
    fold.append(el('summary', label + ' · ' + size(text.length) + ' (folded)'), el('pre', text));
    return fold;
  }
  function blocks(content) {
    if (typeof content === 'string') return [shown('text', content)];
    return (content || []).map(function (b) {
      if (b.type === 'text') return shown('text', b.text);
      if (b.type === 'thinking') return shown('thinking', b.thinking);
      if (b.type === 'tool_use' || b.type === 'server_tool_use') return shown('tool_use ' + b.name, b.input);
      if (b.type === 'tool_result') {
        const inner = typeof b.content === 'string' ? b.content : (b.content || []).map(function (c) { return c.text || JSON.stringify(c); }).join('\n');
        return shown('tool_result' + (b.is_error ? ' (error)' : ''), inner);
      }
      if (b.type === 'image') return shown('image', (b.source && b.source.media_type || '') + ' ' + size(((b.source && b.source.data) || '').length));
      return shown(b.type || 'block', b);
    });
  }
  function message(m, isAdded, first, isChanged) {
    const box = el('div', null, isAdded ? 'added' : '');
    const note = !isAdded || first ? '' : isChanged ? ' (changed this turn)' : ' (new this turn)';
    box.append(el('div', (m.role || '?') + note, 'role'));
    blocks(m.content).forEach(function (b) { box.append(b); });
    return box;
  }
  function detail(key) {
    const t = data.turns[key];
    const box = el('div');
    if (t.changes) box.append(el('p', 'Changed since the agent\'s last turn: ' + t.changes));
    if (t.error) box.append(el('p', 'Error: ' + t.error));
    if (!t.payloads) { box.append(el('p', 'This log has no payloads: the request and answer were not recorded (claude-gw capture records them unless --no-payloads; serve --log-payloads).')); return box; }
    const request = el('details'); request.open = true;
    request.append(el('summary', 'Request: ' + t.system.length + ' system blocks, ' + t.messages.length + ' messages, ' + t.tools.length + ' tools'));
    const system = el('details'); system.append(el('summary', 'System prompt (' + t.system_chars + ' characters)'));
    t.system.forEach(function (i) { blocks([data.values[i]]).forEach(function (b) { system.append(b); }); });
    request.append(system);
    // a first turn (or one after a compaction) shows all its messages; a later one its new ones, the earlier ones folded
    const added = new Set(t.whole ? t.messages.map(function (_, at) { return at; }) : t.added);
    const earlier = el('details'); earlier.append(el('summary', 'Earlier messages (' + (t.messages.length - added.size) + ')'));
    const changed = new Set(t.changed);
    t.messages.forEach(function (i, at) {
      (added.has(at) ? request : earlier).append(message(data.values[i], added.has(at), t.whole, changed.has(at)));
    });
    if (t.messages.length > added.size) request.insertBefore(earlier, request.children[2] || null);
    const tools = el('details'); tools.append(el('summary', 'Tools: ' + t.tools.map(function (i) { return data.values[i].name || data.values[i].type; }).join(', ')));
    t.tools.forEach(function (i) { tools.append(shown(data.values[i].name || 'tool', data.values[i])); });
    request.append(tools, shown('parameters', t.params));
    box.append(request);
    if (t.answer !== null) {
      const answer = data.values[t.answer];
      const part = el('div'); part.append(el('div', 'Answer', 'role'));
      if (answer && answer.content) blocks(answer.content).forEach(function (b) { part.append(b); });
      else part.append(shown('body', answer));
      box.append(part);
    }
    if (t.replays.length) {
      const table = el('table');
      const head = el('tr'); ['target', 'model', 'status', 'stop', 'tools called', 'prompt', 'completion', 'cost', 'latency'].forEach(function (h) { head.append(el('th', h)); });
      table.append(head);
      t.replays.forEach(function (r) {
        const row = el('tr');
        [r.target, r.model, r.status, r.stop, r.tools.join(', '), r.tokens[0], r.tokens[1], r.cost, r.latency].forEach(function (v) { row.append(el('td', v === null ? '–' : String(v))); });
        table.append(row);
        if (r.answer !== null) {
          const a = data.values[r.answer];
          const cell = el('td'); cell.colSpan = 9;
          (a && a.content ? blocks(a.content) : [shown('body', a)]).forEach(function (b) { cell.append(b); });
          const more = el('tr'); more.append(cell); table.append(more);
        }
      });
      const part = el('div'); part.append(el('div', 'Replays of this turn', 'role'), table);
      box.append(part);
    }
    return box;
  }
  function toggle(row) {
    const next = row.nextElementSibling;
    if (next && next.classList.contains('detail-row')) { next.remove(); row.classList.remove('open'); return; }
    const cell = el('td', null, 'detail'); cell.colSpan = row.children.length;
    cell.append(detail(row.dataset.turn));
    const tr = el('tr', null, 'detail-row'); tr.append(cell);
    row.after(tr); row.classList.add('open');
  }
  document.querySelectorAll('tr.turn').forEach(function (row) {
    row.addEventListener('click', function () { toggle(row); });
    row.addEventListener('keydown', function (e) { if (e.key === 'Enter') toggle(row); });
  });
})();
