// app.js -- the stargate web chat (no framework, no build step).
//
// Talks to the server's own API (docs/API.md): GET /v1/me (sign-in check),
// GET /v1/deployments (the assistants and their interface strings),
// conversations (list, create, read, delete), POST /v1/chat/completions with
// stream:true and conversation_id (Server-Sent Events read from fetch's
// ReadableStream), GET /v1/me/export and DELETE /v1/me.
//
// Model and user text is only ever put into the page as text nodes
// (textContent) or through markdown.js, which builds elements one by one.
// The API key lives in sessionStorage (this tab only).
import { renderMarkdown } from './markdown.js';

const KEY_STORAGE = 'stargate.key';
const DEPLOYMENT_STORAGE = 'stargate.deployment';

// The deployment's `ui` strings (docs/API.md) when a field is missing.
const DEFAULT_UI = {
    greeting: 'How can I help you today?',
    placeholder: 'Write a message…',
    send: 'Send',
    stop: 'Stop',
    new_chat: 'New chat',
    export_data: 'Export my data',
    delete_chat: 'Delete chat',
    reasoning: 'Reasoning',
};

// Interface strings the deployments do not carry, in a few languages
// (English otherwise).
const STRINGS = {
    en: {
        sign_in: 'Sign in',
        api_key: 'API key',
        signin_intro: 'Sign in with your API key.',
        signin_note: 'The key is kept in this browser tab only (session storage).',
        key_required: 'Please enter your API key.',
        key_rejected: 'This API key was not accepted. Check it, or ask your administrator for a new one.',
        session_ended: 'Your session ended: the API key is no longer accepted. Please sign in again.',
        assistant_label: 'Assistant',
        conversations: 'Conversations',
        no_conversations: 'No conversations yet.',
        untitled: 'Untitled conversation',
        settings: 'Settings',
        sign_out: 'Sign out',
        delete_account: 'Delete my account',
        local_mode: 'Local mode: no API key needed.',
        signed_in_as: 'Signed in as {user} ({tenant}), key {key}',
        you: 'You',
        assistant: 'Assistant',
        interrupted: 'Interrupted: this answer was cut off.',
        stopped: 'Stopped.',
        generating: 'Still being generated…',
        refused: 'The assistant declined this request.',
        not_sent: 'Not sent.',
        confirm_chat_title: 'Delete this conversation?',
        confirm_chat_text: 'The conversation and its messages are erased from the server.',
        confirm_account_title: 'Delete your account?',
        confirm_account_text: 'This erases your conversations, your usage and your API keys on this server. ' +
            'It cannot be undone.',
        confirm_account_ok: 'Delete everything',
        cancel: 'Cancel',
        account_deleted: 'Your account and all its data were deleted.',
        data_deleted: 'Your data was deleted.',
        exported: 'Your data was downloaded.',
        err_network: 'The server cannot be reached. Check your connection and try again.',
        err_404: 'This conversation no longer exists.',
        err_429: 'Too many requests. Please wait {seconds} s and try again.',
        err_429_nowait: 'Too many requests. Please wait a moment and try again.',
        err_5xx: 'The server had a problem ({status}). Please try again in a moment.',
        err_other: 'The request was refused ({status}): {message}',
        err_stream_cut: 'The answer stopped before it was complete. You can send your message again.',
        enter_hint: 'Enter sends, Shift+Enter adds a new line.',
        message: 'Message',
        open_list: 'Conversations',
        close_list: 'Close the list',
        dismiss: 'Dismiss',
    },
    fr: {
        sign_in: 'Se connecter',
        api_key: 'Clé d’API',
        signin_intro: 'Connectez-vous avec votre clé d’API.',
        signin_note: 'La clé reste dans cet onglet uniquement (stockage de session).',
        key_required: 'Veuillez saisir votre clé d’API.',
        key_rejected: 'Cette clé d’API n’a pas été acceptée. Vérifiez-la ou demandez-en une nouvelle.',
        session_ended: 'Votre session a pris fin : la clé n’est plus acceptée. Veuillez vous reconnecter.',
        assistant_label: 'Assistant',
        conversations: 'Conversations',
        no_conversations: 'Aucune conversation pour l’instant.',
        untitled: 'Conversation sans titre',
        settings: 'Paramètres',
        sign_out: 'Se déconnecter',
        delete_account: 'Supprimer mon compte',
        local_mode: 'Mode local : aucune clé nécessaire.',
        signed_in_as: 'Connecté en tant que {user} ({tenant}), clé {key}',
        you: 'Vous',
        assistant: 'Assistant',
        interrupted: 'Interrompu : cette réponse a été coupée.',
        stopped: 'Arrêté.',
        generating: 'Réponse en cours de génération…',
        refused: 'L’assistant a refusé cette demande.',
        not_sent: 'Non envoyé.',
        confirm_chat_title: 'Supprimer cette conversation ?',
        confirm_chat_text: 'La conversation et ses messages sont effacés du serveur.',
        confirm_account_title: 'Supprimer votre compte ?',
        confirm_account_text: 'Vos conversations, votre consommation et vos clés d’API seront effacées de ce ' +
            'serveur. C’est irréversible.',
        confirm_account_ok: 'Tout supprimer',
        cancel: 'Annuler',
        account_deleted: 'Votre compte et toutes ses données ont été supprimés.',
        data_deleted: 'Vos données ont été supprimées.',
        exported: 'Vos données ont été téléchargées.',
        err_network: 'Le serveur est injoignable. Vérifiez votre connexion et réessayez.',
        err_404: 'Cette conversation n’existe plus.',
        err_429: 'Trop de requêtes. Veuillez patienter {seconds} s puis réessayer.',
        err_429_nowait: 'Trop de requêtes. Veuillez patienter un instant puis réessayer.',
        err_5xx: 'Le serveur a rencontré un problème ({status}). Réessayez dans un instant.',
        err_other: 'La requête a été refusée ({status}) : {message}',
        err_stream_cut: 'La réponse s’est arrêtée avant la fin. Vous pouvez renvoyer votre message.',
        enter_hint: 'Entrée envoie, Maj+Entrée ajoute une ligne.',
        message: 'Message',
        open_list: 'Conversations',
        close_list: 'Fermer la liste',
        dismiss: 'Fermer',
    },
    ar: {
        sign_in: 'تسجيل الدخول',
        api_key: 'مفتاح API',
        signin_intro: 'سجّل الدخول باستخدام مفتاح API الخاص بك.',
        signin_note: 'يُحفظ المفتاح في علامة التبويب هذه فقط.',
        key_required: 'يرجى إدخال مفتاح API.',
        key_rejected: 'لم يُقبل مفتاح API هذا. تحقّق منه أو اطلب مفتاحًا جديدًا.',
        session_ended: 'انتهت جلستك: لم يعد المفتاح مقبولًا. يرجى تسجيل الدخول مجددًا.',
        assistant_label: 'المساعد',
        conversations: 'المحادثات',
        no_conversations: 'لا توجد محادثات بعد.',
        untitled: 'محادثة بلا عنوان',
        settings: 'الإعدادات',
        sign_out: 'تسجيل الخروج',
        delete_account: 'حذف حسابي',
        local_mode: 'الوضع المحلي: لا حاجة إلى مفتاح.',
        signed_in_as: 'مسجّل باسم {user} ({tenant})، المفتاح {key}',
        you: 'أنت',
        assistant: 'المساعد',
        interrupted: 'متوقّف: انقطعت هذه الإجابة.',
        stopped: 'أُوقف.',
        generating: 'جارٍ إنشاء الإجابة…',
        refused: 'رفض المساعد هذا الطلب.',
        not_sent: 'لم يُرسل.',
        confirm_chat_title: 'حذف هذه المحادثة؟',
        confirm_chat_text: 'ستُحذف المحادثة ورسائلها من الخادم.',
        confirm_account_title: 'حذف حسابك؟',
        confirm_account_text: 'سيؤدي هذا إلى محو محادثاتك واستخدامك ومفاتيح API الخاصة بك من هذا الخادم. ' +
            'لا يمكن التراجع عن ذلك.',
        confirm_account_ok: 'حذف كل شيء',
        cancel: 'إلغاء',
        account_deleted: 'حُذف حسابك وجميع بياناته.',
        data_deleted: 'حُذفت بياناتك.',
        exported: 'نُزّلت بياناتك.',
        err_network: 'تعذّر الوصول إلى الخادم. تحقّق من اتصالك وحاول مجددًا.',
        err_404: 'لم تعد هذه المحادثة موجودة.',
        err_429: 'طلبات كثيرة جدًا. يرجى الانتظار {seconds} ثانية ثم المحاولة مجددًا.',
        err_429_nowait: 'طلبات كثيرة جدًا. يرجى الانتظار قليلًا ثم المحاولة مجددًا.',
        err_5xx: 'واجه الخادم مشكلة ({status}). حاول مجددًا بعد قليل.',
        err_other: 'رُفض الطلب ({status}): {message}',
        err_stream_cut: 'توقّفت الإجابة قبل اكتمالها. يمكنك إرسال رسالتك مجددًا.',
        enter_hint: 'Enter للإرسال، وShift+Enter لسطر جديد.',
        message: 'الرسالة',
        open_list: 'المحادثات',
        close_list: 'إغلاق القائمة',
        dismiss: 'إغلاق',
    },
};

const $ = (id) => document.getElementById(id);

const state = {
    key: null,          // API key (null: none sent)
    noAuth: false,      // the server answered /v1/me without a key
    me: null,
    deployments: [],
    deployment: null,   // the chosen deployment object
    ui: { ...DEFAULT_UI },
    lang: 'en',
    conversations: [],
    current: null,      // the open conversation (null: a new, not yet created one)
    streaming: null,    // {controller, bubble} while an answer streams
    retryUntil: 0,      // Date.now() before which sending is pointless (429)
    pollTimer: 0,       // re-reads a conversation whose answer is being generated elsewhere
    pollCount: 0,
};

// ---------------------------------------------------------------- strings

function t(name, vars = {}) {
    const table = STRINGS[state.lang] || STRINGS.en;
    const s = table[name] ?? STRINGS.en[name] ?? name;
    return s.replace(/\{(\w+)\}/g, (m, k) => (k in vars ? String(vars[k]) : m));
}

function languageOf(tag) {
    const base = String(tag || '').toLowerCase().split(/[-_]/)[0];
    return STRINGS[base] ? base : 'en';
}

// ---------------------------------------------------------------- API

class ApiError extends Error {
    constructor(status, message, code = '', retryAfter = null) {
        super(message || `HTTP ${status}`);
        this.name = 'ApiError';
        this.status = status;
        this.code = code;
        this.retryAfter = retryAfter;
    }
}

function parseRetryAfter(v) {
    if (v == null || v === '') {
        return null;
    }
    if (/^\d+$/.test(v.trim())) {
        return parseInt(v, 10);
    }
    const when = Date.parse(v);
    return Number.isNaN(when) ? null : Math.max(0, Math.ceil((when - Date.now()) / 1000));
}

async function errorFrom(res) {
    let message = '';
    let code = '';
    try {
        const body = await res.json();
        message = body?.error?.message || '';
        code = body?.error?.code || '';
    } catch {
        // not JSON: keep the status only
    }
    return new ApiError(res.status, message, code, parseRetryAfter(res.headers.get('Retry-After')));
}

// fetch with the key; JSON in and out. opts.raw returns the Response.
async function api(method, path, body, opts = {}) {
    const headers = { Accept: opts.accept || 'application/json' };
    if (state.key) {
        headers.Authorization = `Bearer ${state.key}`;
    }
    if (body !== undefined) {
        headers['Content-Type'] = 'application/json';
    }
    let res;
    try {
        res = await fetch(path, {
            method, headers, cache: 'no-store', signal: opts.signal,
            body: body === undefined ? undefined : JSON.stringify(body),
        });
    } catch (e) {
        if (e.name === 'AbortError') {
            throw e;
        }
        throw new ApiError(0, e.message);
    }
    if (!res.ok) {
        throw await errorFrom(res);
    }
    if (opts.raw) {
        return res;
    }
    try {
        return await res.json();
    } catch {
        throw new ApiError(res.status, 'invalid JSON in the answer');
    }
}

// Reads a Server-Sent Events body ("data: {json}\n\n" ... "data: [DONE]"),
// calling onData(object) per event. Returns true when [DONE] arrived.
async function readEvents(body, onData) {
    const reader = body.getReader();
    const decoder = new TextDecoder();
    let buf = '';
    try {
        for (;;) {
            const { value, done } = await reader.read();
            if (done) {
                break;
            }
            buf += decoder.decode(value, { stream: true });
            for (;;) {
                const m = /\r?\n\r?\n/.exec(buf);
                if (!m) {
                    break;
                }
                const event = buf.slice(0, m.index);
                buf = buf.slice(m.index + m[0].length);
                const data = event.split(/\r?\n/)
                    .filter((l) => l.startsWith('data:'))
                    .map((l) => l.slice(5).replace(/^ /, ''))
                    .join('\n');
                if (!data) {
                    continue; // comments (": keep-alive") and other fields
                }
                if (data === '[DONE]') {
                    return true;
                }
                let obj;
                try {
                    obj = JSON.parse(data);
                } catch {
                    continue;
                }
                onData(obj);
            }
        }
    } catch (e) {
        // an error event or a bad chunk: stop reading, let the server know
        reader.cancel().catch(() => {});
        throw e;
    } finally {
        reader.releaseLock();
    }
    return false;
}

// ---------------------------------------------------------------- messages to the person

function describeError(e) {
    if (e.status === 0) {
        return t('err_network');
    }
    if (e.status === 429) {
        return e.retryAfter != null ? t('err_429', { seconds: e.retryAfter }) : t('err_429_nowait');
    }
    if (e.status >= 500) {
        return t('err_5xx', { status: e.status });
    }
    if (e.status === 404) {
        return t('err_404');
    }
    return t('err_other', { status: e.status, message: e.message });
}

function showBanner(text, kind = 'error') {
    $('error-text').textContent = text;
    const banner = $('error-banner');
    banner.classList.toggle('info', kind === 'info');
    banner.setAttribute('role', kind === 'info' ? 'status' : 'alert');
    banner.dataset.kind = kind;
    banner.hidden = false;
}

function hideBanner() {
    $('error-banner').hidden = true;
}

// Shows an API error; a rejected key ends the session.
function handleError(e) {
    if (e.name === 'AbortError') {
        return;
    }
    if (e.status === 401) {
        endSession(t('session_ended'));
        return;
    }
    if (e.status === 429 && e.retryAfter != null) {
        state.retryUntil = Date.now() + e.retryAfter * 1000;
    }
    showBanner(describeError(e));
}

// ---------------------------------------------------------------- sign-in

function showSignin(message = '') {
    if (state.streaming) {
        state.streaming.controller.abort();
    }
    state.lang = languageOf(navigator.language);
    document.documentElement.lang = state.lang;
    document.documentElement.dir = state.lang === 'ar' ? 'rtl' : 'ltr';
    $('app').hidden = true;
    $('signin').hidden = false;
    $('signin-intro').textContent = t('signin_intro');
    $('signin-key-label').textContent = t('api_key');
    $('signin-submit').textContent = t('sign_in');
    $('signin-note').textContent = t('signin_note');
    const err = $('signin-error');
    err.textContent = message;
    err.hidden = !message;
    $('signin-key').value = '';
    $('signin-key').focus();
}

function endSession(message) {
    state.key = null;
    state.me = null;
    state.current = null;
    sessionStorage.removeItem(KEY_STORAGE);
    history.replaceState(null, '', location.pathname);
    showSignin(message);
}

async function onSignin(ev) {
    ev.preventDefault();
    const key = $('signin-key').value.trim();
    const err = $('signin-error');
    if (!key) {
        err.textContent = t('key_required');
        err.hidden = false;
        return;
    }
    $('signin-submit').disabled = true;
    state.key = key;
    try {
        state.me = await api('GET', '/v1/me');
        state.noAuth = state.me?.local_mode === true; // local mode accepts any key
        sessionStorage.setItem(KEY_STORAGE, key);
        await enterApp();
    } catch (e) {
        state.key = null;
        err.textContent = e.status === 401 ? t('key_rejected') : describeError(e);
        err.hidden = false;
    } finally {
        $('signin-submit').disabled = false;
    }
}

// ---------------------------------------------------------------- deployments

function fallbackDeployment() {
    return { id: null, name: 'stargate', language: 'en', locale: 'en', dir: 'ltr', model: undefined, ui: {} };
}

function applyDeployment(d) {
    state.deployment = d;
    state.lang = languageOf(d.language || d.locale);
    const ui = { ...DEFAULT_UI };
    for (const [k, v] of Object.entries(d.ui || {})) {
        if (typeof v === 'string' && v) {
            ui[k] = v;
        }
    }
    state.ui = ui;
    const root = document.documentElement;
    root.lang = d.locale || d.language || 'en';
    root.dir = d.dir === 'rtl' ? 'rtl' : 'ltr';
    document.title = d.name || 'stargate';

    $('greeting').textContent = ui.greeting;
    $('composer-input').placeholder = ui.placeholder;
    $('composer-label').textContent = t('message');
    $('composer-hint').textContent = t('enter_hint');
    $('send').textContent = ui.send;
    $('stop').textContent = ui.stop;
    $('new-chat').textContent = ui.new_chat;
    $('export').textContent = ui.export_data;
    $('delete-chat').textContent = ui.delete_chat;
    $('deployment-label').textContent = t('assistant_label');
    $('conversations-heading').textContent = t('conversations');
    $('conversation-empty').textContent = t('no_conversations');
    $('settings-summary').textContent = t('settings');
    $('sign-out').textContent = t('sign_out');
    $('delete-account').textContent = t('delete_account');
    $('open-sidebar').setAttribute('aria-label', t('open_list'));
    $('close-sidebar').setAttribute('aria-label', t('close_list'));
    $('error-close').setAttribute('aria-label', t('dismiss'));
    for (const s of document.querySelectorAll('.reasoning summary')) {
        s.textContent = ui.reasoning;
    }
    if (d.id) {
        $('deployment-select').value = d.id;
        sessionStorage.setItem(DEPLOYMENT_STORAGE, d.id);
    }
    if (!state.current) {
        $('chat-title').textContent = d.name || 'stargate';
    }
    renderAccount();
    renderConversationList();
}

function findDeployment(id) {
    return state.deployments.find((d) => d.id === id) || null;
}

function renderAccount() {
    const me = state.me || {};
    $('account-info').textContent = state.noAuth ? t('local_mode') :
        t('signed_in_as', { user: me.user ?? '?', tenant: me.tenant ?? '?', key: me.key ?? '' });
    $('sign-out').hidden = state.noAuth;
}

// ---------------------------------------------------------------- the app

async function enterApp() {
    $('signin').hidden = true;
    $('app').hidden = false;
    hideBanner();
    let list = null;
    try {
        list = await api('GET', '/v1/deployments');
    } catch (e) {
        if (e.status === 401) {
            handleError(e);
            return;
        }
        if (e.status !== 404) {
            showBanner(describeError(e));
        }
    }
    state.deployments = Array.isArray(list?.data) ? list.data.filter((d) => d && typeof d.id === 'string') : [];
    const select = $('deployment-select');
    select.replaceChildren();
    for (const d of state.deployments) {
        const opt = document.createElement('option');
        opt.value = d.id;
        opt.textContent = d.name || d.id;
        if (d.language) {
            opt.lang = d.language;
        }
        opt.dir = d.dir === 'rtl' ? 'rtl' : 'ltr';
        select.appendChild(opt);
    }
    select.disabled = state.deployments.length < 2;
    const chosen = findDeployment(sessionStorage.getItem(DEPLOYMENT_STORAGE)) ||
        findDeployment(state.me?.deployment) || findDeployment(list?.default) || state.deployments[0] ||
        fallbackDeployment();
    applyDeployment(chosen);
    await refreshConversations();
    const id = conversationFromHash();
    if (id) {
        await openConversation(id);
    } else {
        newChat();
    }
}

function conversationFromHash() {
    const m = /^#(c_[0-9A-Za-z_-]{1,128})$/.exec(location.hash);
    return m ? m[1] : null;
}

function setHash(id) {
    history.replaceState(null, '', id ? `#${id}` : location.pathname);
}

async function refreshConversations() {
    try {
        const list = await api('GET', '/v1/conversations');
        state.conversations = Array.isArray(list?.data) ? list.data : [];
    } catch (e) {
        handleError(e);
    }
    renderConversationList();
}

function formatTime(v) {
    let ms;
    if (typeof v === 'number') {
        ms = v < 1e12 ? v * 1000 : v;
    } else {
        ms = Date.parse(v);
    }
    if (!Number.isFinite(ms)) {
        return '';
    }
    try {
        return new Intl.DateTimeFormat(document.documentElement.lang || undefined,
            { dateStyle: 'medium', timeStyle: 'short' }).format(new Date(ms));
    } catch {
        return new Date(ms).toLocaleString();
    }
}

function renderConversationList() {
    const ul = $('conversation-list');
    ul.replaceChildren();
    for (const c of state.conversations) {
        const li = document.createElement('li');
        li.className = 'conversation-item';
        li.dataset.testid = 'conversation-item';
        li.dataset.id = c.id;
        const active = state.current && state.current.id === c.id;
        li.classList.toggle('active', Boolean(active));
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'open';
        if (active) {
            b.setAttribute('aria-current', 'true');
        }
        const title = document.createElement('span');
        title.className = 'title';
        title.dataset.testid = 'conversation-title';
        title.textContent = c.title || t('untitled');
        const d = findDeployment(c.deployment);
        if (d?.language) {
            title.lang = d.language;
            title.dir = 'auto';
        }
        const meta = document.createElement('span');
        meta.className = 'meta';
        meta.textContent = [d?.name || c.deployment, formatTime(c.updated_at ?? c.created_at)]
            .filter(Boolean).join(' · ');
        b.append(title, meta);
        b.addEventListener('click', () => openConversation(c.id));
        li.appendChild(b);
        ul.appendChild(li);
    }
    $('conversation-empty').hidden = state.conversations.length > 0;
}

function closeSidebar() {
    $('app').classList.remove('sidebar-open');
    $('backdrop').hidden = true;
    $('open-sidebar').setAttribute('aria-expanded', 'false');
}

function openSidebar() {
    $('app').classList.add('sidebar-open');
    $('backdrop').hidden = false;
    $('open-sidebar').setAttribute('aria-expanded', 'true');
    $('new-chat').focus();
}

function clearMessages() {
    const box = $('messages');
    for (const m of Array.from(box.querySelectorAll('.message'))) {
        m.remove();
    }
    $('greeting').hidden = false;
}

function newChat() {
    stopStreaming();
    state.current = null;
    setHash(null);
    clearMessages();
    $('chat-title').textContent = state.deployment?.name || 'stargate';
    $('delete-chat').hidden = true;
    renderConversationList();
    closeSidebar();
    $('composer-input').focus();
}

async function openConversation(id) {
    stopStreaming();
    hideBanner();
    let conv;
    try {
        conv = await api('GET', `/v1/conversations/${encodeURIComponent(id)}`);
    } catch (e) {
        if (e.status === 404) {
            showBanner(t('err_404'));
            state.conversations = state.conversations.filter((c) => c.id !== id);
            newChat();
        } else {
            handleError(e);
        }
        return;
    }
    state.current = conv;
    setHash(conv.id);
    const d = findDeployment(conv.deployment);
    if (d && d !== state.deployment) {
        applyDeployment(d);
    }
    clearMessages();
    for (const m of conv.messages || []) {
        if (m.role === 'user') {
            addUserBubble(m.content ?? '', m.status);
        } else if (m.role === 'assistant') {
            const b = addAssistantBubble();
            updateAssistant(b, m.content ?? '', m.reasoning_content ?? '', m.status || 'complete');
        }
    }
    $('chat-title').textContent = conv.title || t('untitled');
    $('delete-chat').hidden = false;
    renderConversationList();
    closeSidebar();
    scrollToEnd(true);
    // an answer still being generated (another tab, another device): look again
    // in a few seconds while this conversation stays open
    clearTimeout(state.pollTimer);
    if ((conv.messages || []).some((m) => m.status === 'streaming') && state.pollCount < 100) {
        state.pollTimer = setTimeout(() => {
            if (state.current?.id === conv.id && !state.streaming && !$('app').hidden) {
                state.pollCount++;
                openConversation(conv.id);
            }
        }, 3000);
    } else {
        state.pollCount = 0;
    }
}

// ---------------------------------------------------------------- message bubbles

function addUserBubble(text, status = 'complete') {
    $('greeting').hidden = true;
    const art = document.createElement('article');
    art.className = 'message user';
    art.dataset.testid = 'message';
    art.dataset.role = 'user';
    art.dataset.status = status || 'complete';
    art.setAttribute('aria-label', t('you'));
    const content = document.createElement('div');
    content.className = 'content';
    content.dataset.testid = 'message-content';
    content.dir = 'auto';
    content.textContent = text;
    art.appendChild(content);
    $('messages').appendChild(art);
    scrollToEnd(true);
    return art;
}

function addAssistantBubble() {
    $('greeting').hidden = true;
    const art = document.createElement('article');
    art.className = 'message assistant';
    art.dataset.testid = 'message';
    art.dataset.role = 'assistant';
    art.dataset.status = 'streaming';
    art.setAttribute('aria-label', t('assistant'));
    const details = document.createElement('details');
    details.className = 'reasoning';
    details.dataset.testid = 'reasoning';
    details.hidden = true;
    const summary = document.createElement('summary');
    summary.textContent = state.ui.reasoning;
    const rtext = document.createElement('div');
    rtext.className = 'reasoning-text';
    rtext.dataset.testid = 'reasoning-text';
    details.append(summary, rtext);
    const content = document.createElement('div');
    content.className = 'content';
    content.dataset.testid = 'message-content';
    content.dir = 'auto';
    art.append(details, content);
    $('messages').appendChild(art);
    scrollToEnd(true);
    return art;
}

function setMarker(art, text, cls = '') {
    let marker = art.querySelector('.marker');
    if (!text) {
        marker?.remove();
        return;
    }
    if (!marker) {
        marker = document.createElement('span');
        marker.dataset.testid = 'message-marker';
        art.appendChild(marker);
    }
    marker.className = `marker ${cls}`.trim();
    marker.textContent = text;
}

// status: streaming | complete | interrupted | stopped | content_filter
function updateAssistant(art, content, reasoning, status) {
    const details = art.querySelector('.reasoning');
    details.hidden = !reasoning;
    details.querySelector('.reasoning-text').textContent = reasoning;
    const box = art.querySelector('.content');
    box.replaceChildren(renderMarkdown(content, document));
    art.dataset.status = status === 'stopped' ? 'interrupted' : status;
    art.classList.toggle('done', status !== 'streaming');
    if (status === 'interrupted') {
        setMarker(art, t('interrupted'));
    } else if (status === 'stopped') {
        setMarker(art, t('stopped'));
    } else if (status === 'content_filter') {
        setMarker(art, t('refused'), 'refused');
    } else if (status === 'streaming' && !state.streaming) {
        setMarker(art, t('generating'));
    } else {
        setMarker(art, '');
    }
}

function nearBottom() {
    const box = $('messages');
    return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
}

function scrollToEnd(force = false) {
    const box = $('messages');
    if (force || nearBottom()) {
        box.scrollTop = box.scrollHeight;
    }
}

// ---------------------------------------------------------------- sending

function titleFrom(text) {
    const line = text.replace(/\s+/g, ' ').trim();
    return line.length > 60 ? `${line.slice(0, 59)}…` : line;
}

function setStreaming(on) {
    $('send').hidden = on;
    $('stop').hidden = !on;
    $('messages').setAttribute('aria-busy', on ? 'true' : 'false');
    $('deployment-select').disabled = on || state.deployments.length < 2;
    if (on) {
        $('stop').focus();
    }
}

function stopStreaming() {
    if (state.streaming) {
        state.streaming.controller.abort();
    }
}

async function send() {
    const input = $('composer-input');
    const text = input.value.trim();
    if (!text || state.streaming) {
        return;
    }
    if (Date.now() < state.retryUntil) {
        showBanner(t('err_429', { seconds: Math.ceil((state.retryUntil - Date.now()) / 1000) }));
        return;
    }
    hideBanner();
    const d = state.deployment || fallbackDeployment();
    const controller = new AbortController();
    state.streaming = { controller, bubble: null };
    setStreaming(true);

    let conv = state.current;
    if (!conv) {
        try {
            const body = { title: titleFrom(text) };
            if (d.id) {
                body.deployment = d.id;
            }
            conv = await api('POST', '/v1/conversations', body, { signal: controller.signal });
        } catch (e) {
            state.streaming = null;
            setStreaming(false);
            handleError(e);
            return;
        }
        state.current = conv;
        setHash(conv.id);
        $('chat-title').textContent = conv.title || t('untitled');
        $('delete-chat').hidden = false;
        state.conversations = [conv, ...state.conversations.filter((c) => c.id !== conv.id)];
        renderConversationList();
    }

    input.value = '';
    autosize();
    const userBubble = addUserBubble(text);
    const bubble = addAssistantBubble();
    state.streaming.bubble = bubble;
    let content = '';
    let reasoning = '';
    let finish = null;
    let status = 'streaming';
    let pending = false;
    const render = () => {
        pending = false;
        const stick = nearBottom();
        updateAssistant(bubble, content, reasoning, status);
        if (stick) {
            scrollToEnd(true);
        }
    };
    const schedule = () => {
        if (!pending) {
            pending = true;
            requestAnimationFrame(render);
        }
    };
    try {
        const body = {
            conversation_id: conv.id,
            messages: [{ role: 'user', content: text }],
            stream: true,
        };
        const model = d.model || d.id;
        if (model) {
            body.model = model;
        }
        const res = await api('POST', '/v1/chat/completions', body,
            { raw: true, signal: controller.signal, accept: 'text/event-stream' });
        const done = await readEvents(res.body, (chunk) => {
            if (chunk.error) {
                throw new ApiError(chunk.error.code === 'rate_limit_exceeded' ? 429 : 500,
                    chunk.error.message || '', chunk.error.code || '');
            }
            const choice = Array.isArray(chunk.choices) ? chunk.choices[0] : null;
            if (!choice) {
                return;
            }
            const delta = choice.delta || {};
            if (typeof delta.reasoning_content === 'string') {
                reasoning += delta.reasoning_content;
            }
            if (typeof delta.content === 'string') {
                content += delta.content;
            }
            if (choice.finish_reason) {
                finish = choice.finish_reason;
            }
            schedule();
        });
        if (done) {
            status = finish === 'content_filter' ? 'content_filter' : 'complete';
        } else {
            status = 'interrupted';
            showBanner(t('err_stream_cut'));
        }
    } catch (e) {
        if (e.name === 'AbortError') {
            status = 'stopped';
        } else {
            status = 'interrupted';
            if (!content && !reasoning && e.status !== undefined && e.status !== 0 && e.status !== 500) {
                // refused before generating (400, 429...): nothing was answered
                bubble.remove();
                userBubble.dataset.status = 'failed';
                setMarker(userBubble, t('not_sent'));
                bubble.dataset.removed = '1';
            }
            handleError(e);
        }
    } finally {
        state.streaming = null;
        setStreaming(false);
    }
    if (!bubble.dataset.removed) {
        updateAssistant(bubble, content, reasoning, status);
    }
    refreshConversations();
    if (!$('app').hidden) {
        input.focus();
    }
}

// ---------------------------------------------------------------- people's rights

function confirmDialog(title, text, okLabel) {
    const dlg = $('confirm-dialog');
    $('confirm-title').textContent = title;
    $('confirm-text').textContent = text;
    $('confirm-ok').textContent = okLabel;
    $('confirm-cancel').textContent = t('cancel');
    dlg.returnValue = '';
    return new Promise((resolve) => {
        dlg.addEventListener('close', () => resolve(dlg.returnValue === 'ok'), { once: true });
        dlg.showModal();
        $('confirm-cancel').focus();
    });
}

async function deleteChat() {
    const conv = state.current;
    if (!conv) {
        return;
    }
    if (!await confirmDialog(t('confirm_chat_title'), t('confirm_chat_text'), state.ui.delete_chat)) {
        return;
    }
    stopStreaming();
    try {
        await api('DELETE', `/v1/conversations/${encodeURIComponent(conv.id)}`);
    } catch (e) {
        if (e.status !== 404) {
            handleError(e);
            return;
        }
    }
    state.conversations = state.conversations.filter((c) => c.id !== conv.id);
    newChat();
    await refreshConversations();
}

async function exportData() {
    const button = $('export');
    button.disabled = true;
    try {
        const res = await api('GET', '/v1/me/export', undefined, { raw: true });
        const blob = new Blob([await res.arrayBuffer()], { type: 'application/json' });
        const url = URL.createObjectURL(blob);
        const a = document.createElement('a');
        a.href = url;
        a.download = `stargate-export-${new Date().toISOString().slice(0, 10)}.json`;
        document.body.appendChild(a);
        a.click();
        a.remove();
        setTimeout(() => URL.revokeObjectURL(url), 30000);
        showBanner(t('exported'), 'info');
    } catch (e) {
        handleError(e);
    } finally {
        button.disabled = false;
    }
}

async function deleteAccount() {
    if (!await confirmDialog(t('confirm_account_title'), t('confirm_account_text'), t('confirm_account_ok'))) {
        return;
    }
    stopStreaming();
    try {
        await api('DELETE', '/v1/me');
    } catch (e) {
        handleError(e);
        return;
    }
    sessionStorage.removeItem(DEPLOYMENT_STORAGE);
    if (state.noAuth) {
        state.current = null;
        setHash(null);
        await enterApp();
        showBanner(t('data_deleted'), 'info');
    } else {
        endSession(t('account_deleted'));
    }
}

// ---------------------------------------------------------------- events

function autosize() {
    const ta = $('composer-input');
    ta.style.height = 'auto';
    ta.style.height = `${Math.min(ta.scrollHeight + 2, window.innerHeight * 0.4)}px`;
}

function bindEvents() {
    $('signin-form').addEventListener('submit', onSignin);
    $('composer').addEventListener('submit', (ev) => {
        ev.preventDefault();
        send();
    });
    const input = $('composer-input');
    input.addEventListener('keydown', (ev) => {
        if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing && ev.keyCode !== 229) {
            ev.preventDefault();
            send();
        } else if (ev.key === 'Escape' && state.streaming) {
            stopStreaming();
        }
    });
    input.addEventListener('input', autosize);
    $('stop').addEventListener('click', stopStreaming);
    $('new-chat').addEventListener('click', newChat);
    $('delete-chat').addEventListener('click', deleteChat);
    $('export').addEventListener('click', exportData);
    $('delete-account').addEventListener('click', deleteAccount);
    $('sign-out').addEventListener('click', () => endSession(''));
    $('error-close').addEventListener('click', hideBanner);
    $('open-sidebar').addEventListener('click', openSidebar);
    $('close-sidebar').addEventListener('click', closeSidebar);
    $('backdrop').addEventListener('click', closeSidebar);
    document.addEventListener('keydown', (ev) => {
        if (ev.key === 'Escape' && $('app').classList.contains('sidebar-open')) {
            closeSidebar();
        }
    });
    $('deployment-select').addEventListener('change', (ev) => {
        const d = findDeployment(ev.target.value);
        if (!d) {
            return;
        }
        applyDeployment(d);
        if (state.current && state.current.deployment !== d.id) {
            newChat();
        }
    });
    window.addEventListener('hashchange', () => {
        const id = conversationFromHash();
        if (id && state.me && id !== state.current?.id) {
            openConversation(id);
        }
    });
}

async function boot() {
    bindEvents();
    state.key = sessionStorage.getItem(KEY_STORAGE);
    try {
        state.me = await api('GET', '/v1/me');
        state.noAuth = !state.key || state.me?.local_mode === true;
        await enterApp();
    } catch (e) {
        if (e.status === 401) {
            if (state.key) {
                sessionStorage.removeItem(KEY_STORAGE);
                state.key = null;
                showSignin(t('session_ended'));
            } else {
                showSignin('');
            }
        } else {
            showSignin(describeError(e));
        }
    }
    document.body.dataset.ready = '1';
}

boot();
