import { createRouter, createWebHistory } from 'vue-router'
import { session, loadSession } from './api.js'
import Login from './pages/Login.vue'
import Layout from './pages/Layout.vue'
import Dashboard from './pages/Dashboard.vue'
import ComingSoon from './pages/ComingSoon.vue'
import Exports from './pages/Exports.vue'

// The side menu's pages. Those without an API yet say so (ComingSoon).
export const MENU = [
  { path: 'dashboard', title: '工作台', component: Dashboard },
  { path: 'repairs', title: '报修工单', component: ComingSoon },
  { path: 'leads', title: '线索', component: ComingSoon },
  { path: 'referrals', title: '推荐与奖励', component: ComingSoon },
  { path: 'notifications', title: '通知', component: ComingSoon },
  { path: 'settings', title: '配置', component: ComingSoon },
  { path: 'staff', title: '员工', component: ComingSoon },
  { path: 'audit', title: '审计日志', component: ComingSoon },
  { path: 'exports', title: '导出记录', component: Exports },
]

export const router = createRouter({
  history: createWebHistory('/console/'),
  routes: [
    { path: '/login', name: 'login', component: Login, meta: { public: true } },
    {
      path: '/',
      component: Layout,
      redirect: '/dashboard',
      children: MENU.map((m) => ({ path: m.path, name: m.path, component: m.component, meta: { title: m.title } })),
    },
    { path: '/:rest(.*)*', redirect: '/dashboard' },
  ],
})

router.beforeEach(async (to) => {
  if (!session.loaded) await loadSession()
  if (!to.meta.public && !session.user) return { name: 'login', query: to.fullPath !== '/dashboard' ? { next: to.fullPath } : {} }
  if (to.name === 'login' && session.user) return { path: '/dashboard' }
  return true
})
